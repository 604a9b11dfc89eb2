"""Custom fields of contacts sync both ways: the reference CRM over HTTP (its declared custom
fields), the Google emulator's People API, and the run service, with the admin's mapping."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from crmsync.crm.custom_fields import REFERENCE_FIELDS
from crmsync.crm.models import Contact
from crmsync.crm.semantics import FeedFilter
from crmsync.model.field_mapping import FieldMap, FieldMapping, Target
from crmsync.model.settings import Direction
from infra.crm.seed import seed
from infra.crm.store import CrmStore
from tests.integration.mapping.conftest import Stack

pytestmark = pytest.mark.integration
ACCOUNT = "custom@example.com"
FIELDS = {f.name: f for f in REFERENCE_FIELDS["contacts"]}
MAPPING = FieldMapping(
    contacts=[
        FieldMap(field=FIELDS["customer_tier"], target=Target.USER_DEFINED, key="Customer tier"),
        FieldMap(
            field=FIELDS["account_number"], target=Target.EXTERNAL_ID, key="account", direction=Direction.CRM_TO_GOOGLE
        ),
        FieldMap(field=FIELDS["renewal_date"], target=Target.EVENT, key="renewal"),
        FieldMap(field=FIELDS["lead_score"], target=Target.USER_DEFINED, key="Lead score"),
        FieldMap(field=FIELDS["interests"], target=Target.USER_DEFINED, key="Interests"),
        FieldMap(field=FIELDS["assistant"], target=Target.RELATION, key="assistant"),
    ]
)


def contact(stack: Stack, given: str) -> Contact:
    found = stack.record("contacts", lambda r: getattr(r, "given_name", None) == given)
    assert isinstance(found, Contact)
    return found


def _user_defined(person: dict[str, Any]) -> dict[str, str]:
    return {u["key"]: u["value"] for u in person.get("userDefined", [])}


def test_the_reference_crm_declares_its_custom_fields(stack: Stack) -> None:
    declared = stack.crm.fields("contacts")
    assert {f.name for f in declared} == set(FIELDS)
    assert stack.crm.capabilities().custom_fields is True


def test_custom_contact_fields_sync_both_ways(stack: Stack) -> None:
    stack.crm_server.store.create_many(
        "contacts",
        [
            {
                "given_name": "Ada",
                "owner_id": "u1",
                "custom_fields": {
                    "customer_tier": "Gold",
                    "account_number": "A-1001",
                    "renewal_date": "2027-03-01",
                    "lead_score": 42.50,
                    "interests": ["Data", "AI"],
                    "assistant": "Grace Hopper",
                },
            }
        ],
    )
    stack.run(MAPPING)
    ada = stack.person("Ada")
    assert _user_defined(ada) == {"Customer tier": "Gold", "Lead score": "42.5", "Interests": "AI, Data"}
    assert ada["externalIds"] == [{"value": "A-1001", "type": "account"}] or [
        {k: v for k, v in e.items() if k in ("value", "type")} for e in ada["externalIds"]
    ] == [{"value": "A-1001", "type": "account"}]
    assert [e["date"] for e in ada["events"]] == [{"year": 2027, "month": 3, "day": 1}]
    assert [r["person"] for r in ada["relations"]] == ["Grace Hopper"]

    # A Google edit of a mapped field reaches the CRM; a userDefined pair nobody maps stays in Google.
    pairs = [
        {"key": "Customer tier", "value": "Silver"},
        {"key": "Shoe size", "value": "42"},
        {"key": "Lead score", "value": "7"},
        {"key": "Interests", "value": "AI, Data"},
    ]
    stack.people.updateContact(
        resourceName=ada["resourceName"],
        updatePersonFields="userDefined",
        body={"etag": ada["etag"], "userDefined": pairs},
    ).execute()
    stack.run(MAPPING)
    crm_ada = contact(stack, "Ada")
    assert crm_ada.custom_fields is not None
    assert crm_ada.custom_fields["customer_tier"] == "Silver" and crm_ada.custom_fields["lead_score"] == 7
    assert crm_ada.custom_fields["account_number"] == "A-1001"

    # A CRM edit reaches Google, and the unmapped pair survives the write.
    stack.crm.update("contacts", crm_ada.id, {"custom_fields": {"customer_tier": "Bronze"}}, crm_ada.version)
    report = stack.run(MAPPING)
    assert report["writes"] == {"google.update": 1}, report
    assert _user_defined(stack.person("Ada")) == {
        "Customer tier": "Bronze",
        "Shoe size": "42",
        "Lead score": "7",
        "Interests": "AI, Data",
    }

    # Nothing changed: nothing is written (our own writes are echoes).
    assert stack.run(MAPPING)["writes"] == {}


def test_a_google_edit_of_a_crm_to_google_field_never_reaches_the_crm(stack: Stack) -> None:
    stack.crm_server.store.create_many(
        "contacts", [{"given_name": "Bo", "owner_id": "u1", "custom_fields": {"account_number": "B-7"}}]
    )
    stack.run(MAPPING)
    bo = stack.person("Bo")
    stack.people.updateContact(
        resourceName=bo["resourceName"],
        updatePersonFields="externalIds",
        body={"etag": bo["etag"], "externalIds": [{"value": "HACKED", "type": "account"}]},
    ).execute()
    first = stack.run(MAPPING)
    assert first["errors"] == [], first
    assert contact(stack, "Bo").custom_fields == {"account_number": "B-7"}
    assert stack.run(MAPPING)["writes"] == {}  # settled: no ping-pong


def test_mapping_a_field_fills_it_on_the_next_run_without_touching_the_rest(stack: Stack) -> None:
    stack.crm_server.store.create_many(
        "contacts",
        [
            {"given_name": "Cy", "owner_id": "u1", "custom_fields": {"customer_tier": "Gold"}},
            *({"given_name": f"Plain{i}", "owner_id": "u1"} for i in range(5)),
        ],
    )
    stack.run(FieldMapping())  # the built-in fields only
    assert "userDefined" not in stack.person("Cy")
    report = stack.run(MAPPING)  # the admin maps the custom fields
    assert report["full"] is True
    assert report["writes"] == {"google.update": 1}, report  # Cy only: no mass rewrite
    assert _user_defined(stack.person("Cy")) == {"Customer tier": "Gold"}
    assert report["conflicts"] == []
    # Unmapped again: the field stops syncing, both sides keep their values.
    report = stack.run(FieldMapping())
    assert report["writes"] == {} and report["conflicts"] == []
    assert _user_defined(stack.person("Cy")) == {"Customer tier": "Gold"}
    assert contact(stack, "Cy").custom_fields == {"customer_tier": "Gold"}


def test_the_seeder_fills_some_custom_fields(tmp_path: Path) -> None:
    seed(tmp_path / "seeded.sqlite", contacts=60, activities=20, tasks=20, tricky=None)
    store = CrmStore(tmp_path / "seeded.sqlite")
    try:
        for kind in ("contacts", "activities", "tasks"):
            page = json.loads(store.changes(kind, None, 1000, FeedFilter(), None))
            values = [item["record"]["custom_fields"] for item in page["items"]]
            assert any(values) and not all(values), kind  # some records have values, some none
            declared = {f.name for f in REFERENCE_FIELDS[kind]}
            assert {name for v in values for name in v} <= declared
    finally:
        store.close()
