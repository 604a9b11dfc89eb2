"""Building GooglePeople against the in-process emulator, through crmsync.google.client."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from crmsync.google.client import Endpoint, build_service
from crmsync.google.people import GooglePeople
from crmsync.model.contact import canonical_contact
from crmsync.model.settings import ContactOptions
from crmsync.ports import OpCounter, WriteOp
from infra.google_emulator.core import SCOPE_CONTACTS
from infra.google_emulator.people import seed
from tests.support.google import credentials

EMAIL = "owner@example.com"
CRM_GROUP = "contactGroups/crmgroup1"


def people_service(emulator: Any, scopes: frozenset[str] = frozenset({SCOPE_CONTACTS})) -> Any:
    """A People service built by crmsync's own client module, aimed at the emulator."""
    creds = credentials(emulator.state, EMAIL, scopes)
    return build_service("people", creds, Endpoint(emulator.base_url, timeout=10))


def adapter(emulator: Any, *, slept: list[float] | None = None, **kwargs: Any) -> GooglePeople:
    """A GooglePeople whose sleep advances the emulator clock instead of waiting."""
    slept = slept if slept is not None else []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        emulator.state.clock.advance(timedelta(seconds=seconds))

    scopes = kwargs.pop("scopes", frozenset({SCOPE_CONTACTS}))
    kwargs.setdefault("options", ContactOptions())
    kwargs.setdefault("counter", OpCounter())
    return GooglePeople(people_service(emulator, scopes), sleep=sleep, **kwargs)


def seed_contacts(emulator: Any, n: int, *, in_group: int | None = None) -> list[str]:
    """Seed ``n`` contacts (the first ``in_group`` of them in the "CRM" group); their resource names."""
    in_group = n if in_group is None else in_group
    people = []
    for i in range(n):
        person: dict[str, Any] = {
            "names": [{"givenName": f"Given{i:05d}", "familyName": "Family"}],
            "emailAddresses": [{"value": f"p{i}@example.com", "type": "work"}],
            "phoneNumbers": [{"value": f"+1 212 555 {i % 10000:04d}", "type": "mobile"}],
        }
        if i < in_group:
            person["memberships"] = [{"contactGroupMembership": {"contactGroupResourceName": CRM_GROUP}}]
        people.append(person)
    made = seed(
        emulator.state.account(EMAIL),
        emulator.state,
        {"contactGroups": [{"resourceName": CRM_GROUP, "name": "CRM"}], "connections": people},
    )
    return [c["resourceName"] for c in made["connections"]]


def server_calls(emulator: Any) -> dict[str, int]:
    """The emulator's own count of API calls for the test account, by method id."""
    return dict(emulator.state.counters.get(EMAIL, {}))


def create_op(crm_id: str, raw: dict[str, Any]) -> WriteOp:
    """A Google create as the engine builds it (key == crm_id)."""
    canon = canonical_contact(raw)
    return WriteOp(crm_id, None, canon, canon, crm_id=crm_id)
