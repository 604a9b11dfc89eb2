"""Every request crmsync makes asks only for what it reads (issue 14 §7, crmsync's side of ``fields``).

The emulator trims answers to the ``fields`` selection as Google does, and records each request
(method, query parameter names, JSON body keys; inner batch calls too). A full sync of every kind
through the run service, then edits on both sides and their sync: every request whose answer has a
body carries a selection (``fields``, or People's own ``personFields``/``readMask``/``groupFields``),
and the sync converges with the trimmed answers."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from crmsync.google.selections import FIELDS
from infra.crm import CrmServer
from infra.crm.seed import seed
from tests.integration.sync.test_contacts_wire import ACCOUNT, Stack
from tests.support.google import credentials, service

pytestmark = pytest.mark.integration

# Methods whose answer is empty: nothing to select.
EMPTY_ANSWERS = {
    "calendar.events.delete",
    "tasks.tasks.delete",
    "people.people.deleteContact",
    "people.people.batchDeleteContacts",
}
PEOPLE_MASKS = {"personFields", "readMask", "groupFields", "readGroupFields"}


@pytest.fixture
def stack(emulator: Any, tmp_path: Path) -> Iterator[Stack]:
    db = tmp_path / "crm.sqlite"
    seed(db, contacts=30, users=2)
    server = CrmServer(db, api_key="k").start()
    user = server.store.user_by_email("user1@crm.example")
    assert user is not None
    yield Stack(emulator, server, user.id)
    server.stop()


def _synced(stack: Stack) -> dict[str, Any]:
    """One run of every kind, its requests recorded (the test's own edits are not)."""
    record = stack.base + "/__emulator/traffic/record"
    requests.post(record, json={"on": True}, timeout=10).raise_for_status()
    try:
        return stack.sync()
    finally:
        requests.post(record, json={"on": False}, timeout=10).raise_for_status()


def _recorded(stack: Stack) -> list[dict[str, Any]]:
    body = requests.get(stack.base + "/__emulator/traffic", params={"account": ACCOUNT}, timeout=10).json()
    return list(body["requests"])


def _unselected(requests_made: list[dict[str, Any]]) -> list[str]:
    out = []
    for r in requests_made:
        if r["method"] == "batch" or r["method"] in EMPTY_ANSWERS:
            continue
        asked = set(r["params"]) | set(r["body"])
        if "fields" not in asked and not (r["method"].startswith("people.") and asked & PEOPLE_MASKS):
            out.append(r["method"])
    return out


def test_every_request_a_sync_makes_carries_a_selection_and_the_sync_converges(stack: Stack) -> None:
    first = _synced(stack)
    assert all(k["complete"] for k in first["kinds"].values()), first
    # Edits on both sides: a CRM edit and delete, a Google edit and delete, per kind.
    uid = stack.conn.crm_user_id
    for kind in ("contacts", "activities", "tasks"):
        records = [c.record for c in stack.crm.changes(kind, None, on_behalf_of=uid).items if c.record is not None]
        assert len(records) >= 2, kind
        patch = {"contacts": {"title": "Edited"}, "activities": {"subject": "Edited"}, "tasks": {"title": "Edited"}}
        stack.crm.update(kind, records[0].id, patch[kind], records[0].version)
        stack.crm.delete(kind, records[1].id, records[1].version)
    creds = credentials(stack.emulator.state, ACCOUNT)
    people = service("people", stack.base, creds)
    listed = people.people().connections().list(resourceName="people/me", personFields="names").execute()
    contact = listed["connections"][0]
    people.people().updateContact(
        resourceName=contact["resourceName"],
        updatePersonFields="names",
        body={"etag": contact["etag"], "names": [{"givenName": "Renamed"}]},
    ).execute()
    calendar = service("calendar", stack.base, creds)
    event = calendar.events().list(calendarId="primary", maxResults=5).execute()["items"][0]
    calendar.events().patch(calendarId="primary", eventId=event["id"], body={"summary": "Moved"}).execute()
    second = _synced(stack)
    assert all(k["complete"] for k in second["kinds"].values()), second
    third = _synced(stack)  # our writes echo back once
    quiet = _synced(stack)
    assert all(k["writes"] == {} for k in quiet["kinds"].values()), (third, quiet)

    made = _recorded(stack)
    methods = Counter(r["method"] for r in made)
    for exercised in (
        "people.people.connections.list",
        "people.people.batchCreateContacts",
        "people.people.getBatchGet",
        "calendar.events.list",
        "calendar.events.insert",
        "tasks.tasks.list",
        "tasks.tasks.insert",
    ):
        assert methods[exercised] > 0, (exercised, methods)
    assert _unselected(made) == []
    # Everything the sync calls is in the table (a new call without a selection fails here).
    assert set(methods) - {"batch"} - EMPTY_ANSWERS <= set(FIELDS) | {
        "people.people.createContact",
        "people.people.updateContact",
    }
