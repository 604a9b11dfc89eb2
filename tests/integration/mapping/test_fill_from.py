"""A newly mapped field is filled from the side the admin chooses (``fill_from``, issue 17): where
both sides already hold different values, the chosen side's value wins on the run after the
mapping change, with no conflict; an empty value on the chosen side never clears the other."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from crmsync.model.field_mapping import FieldMap, FieldMapping, Target
from crmsync.model.kinds import Side
from crmsync.model.settings import Direction
from tests.integration.mapping.conftest import Stack
from tests.integration.mapping.test_custom_contacts import FIELDS, _user_defined, contact

pytestmark = pytest.mark.integration


def _tier(fill_from: Side | None) -> FieldMapping:
    return FieldMapping(
        contacts=[FieldMap(field=FIELDS["customer_tier"], target=Target.USER_DEFINED, key="Tier", fill_from=fill_from)]
    )


def _google_tier(stack: Stack, given: str, value: str) -> None:
    person = stack.person(given)
    body: dict[str, Any] = {"etag": person["etag"], "userDefined": [{"key": "Tier", "value": value}]}
    stack.people.updateContact(
        resourceName=person["resourceName"], updatePersonFields="userDefined", body=body
    ).execute()


@pytest.mark.parametrize("fill_from", [Side.CRM, Side.GOOGLE])
def test_a_newly_mapped_field_is_filled_from_the_side_the_admin_chose(stack: Stack, fill_from: Side) -> None:
    stack.crm_server.store.create_many(
        "contacts",
        [
            {"given_name": "Both", "owner_id": "u1", "custom_fields": {"customer_tier": "Gold"}},
            {"given_name": "CrmOnly", "owner_id": "u1", "custom_fields": {"customer_tier": "Silver"}},
            {"given_name": "GoogleOnly", "owner_id": "u1"},
        ],
    )
    stack.run(FieldMapping())  # the built-in fields only
    _google_tier(stack, "Both", "Bronze")  # Google already holds its own values under the key
    _google_tier(stack, "GoogleOnly", "Bronze")

    report = stack.run(_tier(fill_from))  # the admin maps the field, filled from ``fill_from``
    assert report["conflicts"] == [], report
    chosen = "Gold" if fill_from is Side.CRM else "Bronze"
    assert contact(stack, "Both").custom_fields == {"customer_tier": chosen}
    assert _user_defined(stack.person("Both")) == {"Tier": chosen}
    # An empty value on the chosen side never clears the other: the value held on one side is copied.
    assert _user_defined(stack.person("CrmOnly")) == {"Tier": "Silver"}
    assert contact(stack, "GoogleOnly").custom_fields == {"customer_tier": "Bronze"}
    assert stack.run(_tier(fill_from))["writes"] == {}

    # Later, different edits on both sides are a conflict again, as for every field.
    both = contact(stack, "Both")
    stack.crm.update("contacts", both.id, {"custom_fields": {"customer_tier": "Silver"}}, both.version)
    _google_tier(stack, "Both", "Gold" if chosen != "Gold" else "Bronze")
    assert stack.run(_tier(fill_from))["conflicts"], "a later edit on both sides is a conflict"


def test_without_fill_from_different_values_are_a_conflict_as_before(stack: Stack) -> None:
    stack.crm_server.store.create_many(
        "contacts", [{"given_name": "Both", "owner_id": "u1", "custom_fields": {"customer_tier": "Gold"}}]
    )
    stack.run(FieldMapping())
    _google_tier(stack, "Both", "Bronze")
    assert stack.run(_tier(None))["conflicts"]


def test_fill_from_must_be_a_side_the_field_flows_from() -> None:
    with pytest.raises(ValidationError, match="fill_from"):
        FieldMap(
            field=FIELDS["customer_tier"],
            target=Target.USER_DEFINED,
            key="Tier",
            direction=Direction.CRM_TO_GOOGLE,
            fill_from=Side.GOOGLE,
        )
