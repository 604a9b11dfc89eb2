"""Issue 17: a custom field of each kind syncs both ways through the whole local stack (`python -m
infra.stack`: Firestore emulator, Google emulator, reference CRM, web/fanout/worker functions).

The stack's demo connects the demo user, shows the preview and presses "Start syncing" for each kind;
the admin maps one reference-CRM field per kind through `PUT /admin/field-mapping`; a CRM user sets
the values over the CRM's own HTTP API (its webhook pushes a run), and they appear in People
`userDefined`, the event's `extendedProperties` and the task's notes line; the Google user changes
each over Google's REST API, "Sync now" runs, and the CRM records carry the new values."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from crmsync.model.kinds import Kind
from crmsync.services.sync_now import SLOT_SECONDS
from crmsync.store.firestore import FirestoreStore
from infra.firestore_emulator import new_firestore_client
from infra.stack_preview import waiting_kinds
from tests.e2e.local_stack import local_stack, wait_for

pytestmark = pytest.mark.e2e
ACCOUNT = "user1@crm.example"  # the stack's demo user connects the Google account of the same address
SCOPES = [
    "https://www.googleapis.com/auth/contacts",
    "https://www.googleapis.com/auth/calendar",
    "https://www.googleapis.com/auth/tasks",
]
MAPPING = {
    "contacts": [{"crm_field": "customer_tier", "target": "userDefined", "key": "Customer tier"}],
    "events": [{"crm_field": "deal_stage", "target": "extendedProperties.private", "key": "dealStage"}],
    "tasks": [{"crm_field": "priority", "target": "notes_line", "key": "Priority"}],
}
CRM_PATH = {Kind.CONTACTS: "contacts", Kind.EVENTS: "activities", Kind.TASKS: "tasks"}
FIELD = {Kind.CONTACTS: "customer_tier", Kind.EVENTS: "deal_stage", Kind.TASKS: "priority"}
SET_IN_CRM = {Kind.CONTACTS: "Gold", Kind.EVENTS: "Proposal", Kind.TASKS: "High"}
SET_IN_GOOGLE = {Kind.CONTACTS: "Silver", Kind.EVENTS: "Won", Kind.TASKS: "Low"}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    with local_stack(tmp_path_factory.mktemp("stack-custom")) as state:  # with the demo user
        yield state


class Sides:
    """The two sides as their users see them: the CRM's HTTP API as the CRM user, Google's REST API
    (through the emulator) as the Google user, and crmsync's own records in Firestore for the links."""

    def __init__(self, stack: dict[str, Any]) -> None:
        self.stack, self.user = stack, stack["crm_user_id"]
        self.google = stack["google"]
        self.crm_auth = {"Authorization": f"Bearer {stack['keys']['crm_key']}", "X-CRM-User": self.user}
        self.store = FirestoreStore(new_firestore_client(stack["firestore"], "crmsync-local"))
        token = requests.post(
            self.google + "/__emulator/tokens", json={"email": ACCOUNT, "scopes": SCOPES}, timeout=30
        ).json()["access_token"]
        self.google_auth = {"Authorization": f"Bearer {token}"}

    def last_run(self) -> dict[str, Any] | None:
        conn = self.store.find_connection_by_crm_user(self.user)
        return conn.last_run if conn is not None else None

    def crm_record(self, kind: Kind, crm_id: str) -> dict[str, Any]:
        resp = requests.get(f"{self.stack['crm']}/{CRM_PATH[kind]}/{crm_id}", headers=self.crm_auth, timeout=30)
        resp.raise_for_status()
        return dict(resp.json())

    def crm_set(self, kind: Kind, crm_id: str, value: str) -> None:
        """The CRM user edits the record (no crmsync User-Agent: the CRM notifies crmsync by webhook)."""
        record = self.crm_record(kind, crm_id)
        resp = requests.patch(
            f"{self.stack['crm']}/{CRM_PATH[kind]}/{crm_id}",
            json={"custom_fields": {FIELD[kind]: value}},
            headers={**self.crm_auth, "If-Match": f'"{record["version"]}"'},
            timeout=30,
        )
        assert resp.status_code == 200, resp.text

    def dump(self) -> dict[str, Any]:
        resp = requests.get(self.google + "/__emulator/dump", params={"account": ACCOUNT}, timeout=60)
        resp.raise_for_status()
        return dict(resp.json())

    def sync_now(self) -> None:
        """The user's "Sync now" (server to server: the CRM's key on behalf of the user)."""
        resp = requests.post(
            f"{self.stack['web']}/sync", headers={**self.crm_auth, "Accept": "application/json"}, timeout=60
        )
        assert resp.status_code == 202, resp.text


def _person(dump: dict[str, Any], resource: str) -> dict[str, Any] | None:
    return next((p for p in dump["people"]["connections"] if p["resourceName"] == resource), None)


def _event(dump: dict[str, Any], event_id: str) -> tuple[str, dict[str, Any]] | None:
    for calendar, events in dump["calendar"]["calendars"].items():
        for event in events:
            if event.get("id") == event_id:
                return calendar, event
    return None


def _task(dump: dict[str, Any], task_id: str) -> dict[str, Any] | None:
    for tasks in dump["tasks"]["tasklists"].values():
        for task in tasks:
            if task.get("id") == task_id:
                return dict(task)
    return None


def _last_part(google_id: str) -> str:
    return google_id.rsplit("/", 1)[-1] if not google_id.startswith("people/") else google_id


def _pick(sides: Sides, dump: dict[str, Any]) -> dict[Kind, tuple[str, str]]:
    """One synced record pair per kind (crm id, Google id): a plain one (no series, no attendees,
    not deleted) so that the test is about the custom field and nothing else."""
    conn = sides.store.find_connection_by_crm_user(sides.user)
    assert conn is not None
    links = sides.store.connection_store(conn.id)
    chosen: dict[Kind, tuple[str, str]] = {}
    for kind in Kind:
        for link in links.all_links(kind):
            gid = _last_part(link.google_id)
            if link.parked:
                continue
            if kind is Kind.CONTACTS:
                ok = _person(dump, gid) is not None
            elif kind is Kind.EVENTS:
                found = _event(dump, gid)
                ok = found is not None and not {"recurrence", "recurringEventId", "attendees"} & set(found[1])
            else:
                task = _task(dump, gid)
                ok = task is not None and not task.get("deleted") and not task.get("parent")
            if ok and not sides.crm_record(kind, link.crm_id).get("custom_fields"):
                chosen[kind] = (link.crm_id, gid)
                break
        assert kind in chosen, f"no synced {kind} record to edit"
    return chosen


def _google_value(dump: dict[str, Any], kind: Kind, gid: str) -> str | None:
    """The mapped field's value as Google holds it."""
    if kind is Kind.CONTACTS:
        person = _person(dump, gid) or {}
        return next((u["value"] for u in person.get("userDefined", []) if u["key"] == "Customer tier"), None)
    if kind is Kind.EVENTS:
        found = _event(dump, gid)
        return found[1].get("extendedProperties", {}).get("private", {}).get("dealStage") if found else None
    notes = (_task(dump, gid) or {}).get("notes") or ""
    return next((line[len("Priority: ") :] for line in notes.splitlines() if line.startswith("Priority: ")), None)


def _google_set(sides: Sides, dump: dict[str, Any], kind: Kind, gid: str, old: str, new: str) -> None:
    """The Google user changes the value in Google (REST, as Google's own apps do)."""
    base, auth = sides.google, sides.google_auth
    if kind is Kind.CONTACTS:
        person = _person(dump, gid)
        assert person is not None
        pairs = [{**u, "value": new} if u["key"] == "Customer tier" else u for u in person["userDefined"]]
        resp = requests.patch(
            f"{base}/v1/{gid}:updateContact",
            params={"updatePersonFields": "userDefined"},
            json={"etag": person["etag"], "userDefined": pairs},
            headers=auth,
            timeout=30,
        )
    elif kind is Kind.EVENTS:
        found = _event(dump, gid)
        assert found is not None
        calendar, event = found
        if calendar != "primary":
            listed = requests.get(f"{base}/calendar/v3/users/me/calendarList", headers=auth, timeout=30).json()
            calendar = next(c["id"] for c in listed["items"] if c.get("summary") == calendar)
        private = {**event["extendedProperties"]["private"], "dealStage": new}
        resp = requests.patch(
            f"{base}/calendar/v3/calendars/{calendar}/events/{gid}",
            json={"extendedProperties": {**event["extendedProperties"], "private": private}},
            headers=auth,
            timeout=30,
        )
    else:
        task = _task(dump, gid)
        assert task is not None
        path = task["selfLink"].split("/tasks/v1/", 1)[1]
        notes = task["notes"].replace(f"Priority: {old}", f"Priority: {new}")
        resp = requests.patch(f"{base}/tasks/v1/{path}", json={"notes": notes}, headers=auth, timeout=30)
    assert resp.status_code == 200, resp.text


def test_a_custom_field_of_each_kind_syncs_both_ways_through_the_local_stack(stack: dict[str, Any]) -> None:
    sides = Sides(stack)
    # The stack's demo: connected, the preview of each kind started ("Start syncing"), the first sync done.
    wait_for(
        lambda: (run := sides.last_run()) and run.get("complete") and not waiting_kinds(run),
        "the demo user's first complete sync after Start syncing",
        timeout=600,
    )
    admin = {"Authorization": f"Bearer {stack['keys']['admin_key']}", "Accept": "application/json"}
    stored = requests.put(f"{stack['web']}/admin/field-mapping", json=MAPPING, headers=admin, timeout=60)
    assert stored.status_code == 200, stored.text
    assert {k: [m["field"]["name"] for m in v] for k, v in stored.json()["mapping"].items()} == {
        "contacts": ["customer_tier"],
        "events": ["deal_stage"],
        "tasks": ["priority"],
    }
    chosen = _pick(sides, sides.dump())

    # CRM -> Google: a CRM user sets each value; the CRM's webhook (or the next run) brings it to Google.
    for kind, (crm_id, _gid) in chosen.items():
        sides.crm_set(kind, crm_id, SET_IN_CRM[kind])

    def in_google() -> dict[str, Any] | None:
        dump = sides.dump()
        have = {kind: _google_value(dump, kind, gid) for kind, (_c, gid) in chosen.items()}
        return dump if have == SET_IN_CRM else None

    dump = wait_for(in_google, "the CRM's custom values in Google", timeout=180, every=2)

    # Google -> CRM: the Google user changes each value; "Sync now" brings them to the CRM.
    for kind, (_crm_id, gid) in chosen.items():
        _google_set(sides, dump, kind, gid, SET_IN_CRM[kind], SET_IN_GOOGLE[kind])

    def in_crm() -> bool:
        have = {
            kind: sides.crm_record(kind, crm_id)["custom_fields"].get(FIELD[kind])
            for kind, (crm_id, _g) in chosen.items()
        }
        if have == SET_IN_GOOGLE:
            return True
        sides.sync_now()  # again each slot: a click during a run only asks for one more run
        return False

    wait_for(in_crm, "Google's custom values in the CRM", timeout=240, every=SLOT_SECONDS)
    # And Google still holds them (nothing fought back).
    final = sides.dump()
    assert {kind: _google_value(final, kind, gid) for kind, (_c, gid) in chosen.items()} == SET_IN_GOOGLE
