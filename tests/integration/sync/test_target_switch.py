"""Changing where a kind is written (the settings page makes it one click) neither deletes,
imports nor duplicates anything: the whole run service over the Google emulator and the CRM fake."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import requests

from crmsync.crm.fake import FakeCrm
from crmsync.google.client import Endpoint
from crmsync.model.event import EventOptions
from crmsync.model.kinds import Kind
from crmsync.model.settings import SyncSettings
from crmsync.model.state import Connection
from crmsync.model.task import TaskOptions, TaskTarget
from crmsync.services.run_sync import GRANT_SCOPES, GoogleAccess, RunDeps, sync_connection
from crmsync.store.memory import MemoryStore

pytestmark = pytest.mark.integration
ACCOUNT = "anna@corp.example"
DAY = date.today() + timedelta(days=7)


class Stack:
    def __init__(self, emulator: Any) -> None:
        self.base = emulator.base_url
        grant = requests.post(
            self.base + "/__emulator/grants",
            json={"email": ACCOUNT, "client_id": "cid", "scopes": list(GRANT_SCOPES.values())},
            timeout=10,
        ).json()
        self.token = grant["refresh_token"]
        self.crm = FakeCrm()
        self.user = self.crm.add_user(ACCOUNT, "Anna").id
        self.store = MemoryStore()
        self.conn = Connection(
            id="conn-switch",
            crm_user_id=self.user,
            google_subject="1",
            google_email=ACCOUNT,
            scopes=list(GRANT_SCOPES.values()),
            settings=SyncSettings(),
            created_at=datetime.now(UTC),
        )
        self.deps = RunDeps(
            self.store, self.crm, GoogleAccess(Endpoint(self.base), "cid", "s"), lambda: datetime.now(UTC)
        )

    def settle(self, kind: Kind) -> list[dict[str, Any]]:
        runs = [sync_connection(self.conn, self.token, self.deps, kinds=[kind]).as_dict() for _ in range(3)]
        assert runs[-1]["kinds"][kind.value]["writes"] == {}, runs
        assert all(not r["kinds"][kind.value]["errors"] for r in runs), runs
        return runs

    def change(self, **settings: Any) -> None:
        self.conn = self.conn.model_copy(update={"settings": self.conn.settings.model_copy(update=settings)})

    def records(self, kind: str) -> dict[str, Any]:
        page = self.crm.changes(kind, None, on_behalf_of=self.user)
        return {c.id: c.record for c in page.items if c.record is not None}

    def links(self, kind: Kind) -> int:
        return len(list(self.store.connection_store(self.conn.id).all_links(kind)))

    def google(self, path: str, method: str = "GET", body: Any = None) -> Any:
        return requests.request(
            method, self.base + path, json=body, headers={"Authorization": f"Bearer {self.access()}"}, timeout=10
        ).json()

    def access(self) -> str:
        resp = requests.post(
            self.base + "/token",
            data={"grant_type": "refresh_token", "refresh_token": self.token, "client_id": "cid", "client_secret": "s"},
            timeout=10,
        )
        return str(resp.json()["access_token"])


def when(hour: int) -> dict[str, Any]:
    return {"start": f"{DAY}T{hour:02d}:00:00", "end": f"{DAY}T{hour + 1:02d}:00:00", "time_zone": "Europe/Berlin"}


def test_switching_the_write_calendar_keeps_every_linked_event_and_imports_nothing_new(emulator: Any) -> None:
    s = Stack(emulator)
    s.crm.create("activities", {"subject": "Kickoff", **when(9)}, "k1", on_behalf_of=s.user)
    primary = "/calendar/v3/calendars/primary/events"
    g = s.google(primary, "POST", {"summary": "Lunch", "start": {"dateTime": f"{DAY}T12:00:00", "timeZone": "Europe/Berlin"},
                                   "end": {"dateTime": f"{DAY}T13:00:00", "timeZone": "Europe/Berlin"}})  # fmt: skip
    s.settle(Kind.EVENTS)
    assert (len(s.records("activities")), s.links(Kind.EVENTS)) == (2, 2)
    s.change(event_options=EventOptions(calendar="dedicated", calendar_name="CRM"))
    runs = s.settle(Kind.EVENTS)
    assert [r["kinds"]["events"]["writes"] for r in runs] == [{}, {}, {}]  # nothing deleted, nothing copied
    assert (len(s.records("activities")), s.links(Kind.EVENTS)) == (2, 2)
    # Linked events in the former write calendar still sync; a new one there is not imported;
    # a new CRM activity goes to the dedicated calendar.
    s.google(f"{primary}/{g['id']}", "PATCH", {"summary": "Team lunch"})
    s.google(primary, "POST", {"summary": "Dentist", "start": {"dateTime": f"{DAY}T16:00:00", "timeZone": "Europe/Berlin"},
                               "end": {"dateTime": f"{DAY}T17:00:00", "timeZone": "Europe/Berlin"}})  # fmt: skip
    s.crm.create("activities", {"subject": "Review", **when(10)}, "k2", on_behalf_of=s.user)
    s.settle(Kind.EVENTS)
    assert sorted(a.subject for a in s.records("activities").values()) == ["Kickoff", "Review", "Team lunch"]
    calendars = s.google("/calendar/v3/users/me/calendarList")["items"]
    [dedicated] = [c["id"] for c in calendars if c.get("summary") == "CRM"]
    in_dedicated = s.google(f"/calendar/v3/calendars/{dedicated}/events")["items"]
    assert [e["summary"] for e in in_dedicated] == ["Review"]


def test_switching_the_task_target_starts_over_without_deleting_or_duplicating(emulator: Any) -> None:
    s = Stack(emulator)
    s.crm.create("tasks", {"title": "Call back", "due": str(DAY)}, "t1", on_behalf_of=s.user)
    s.crm.create("tasks", {"title": "No date"}, "t2", on_behalf_of=s.user)
    s.settle(Kind.TASKS)
    assert s.links(Kind.TASKS) == 2
    lists = s.google("/tasks/v1/users/@me/lists")["items"]
    in_tasks = [t["title"] for lst in lists for t in s.google(f"/tasks/v1/lists/{lst['id']}/tasks").get("items", [])]
    assert sorted(in_tasks) == ["Call back", "No date"]
    s.change(task_options=TaskOptions(target=TaskTarget.CALENDAR))
    runs = s.settle(Kind.TASKS)
    assert runs[0]["kinds"]["tasks"]["writes"] == {"google.create": 1}  # the dated task, as an all-day event
    assert len(s.records("tasks")) == 2  # nothing deleted in the CRM
    events = s.google("/calendar/v3/calendars/primary/events")["items"]
    assert [e["start"] for e in events] == [{"date": str(DAY)}]
    in_tasks_after = [
        t["title"] for lst in lists for t in s.google(f"/tasks/v1/lists/{lst['id']}/tasks").get("items", [])
    ]
    assert sorted(in_tasks_after) == ["Call back", "No date"]  # left where they were
    s.change(task_options=TaskOptions(target=TaskTarget.TASKS))  # and back: matched, not duplicated
    s.settle(Kind.TASKS)
    again = [t["title"] for lst in lists for t in s.google(f"/tasks/v1/lists/{lst['id']}/tasks").get("items", [])]
    assert sorted(again) == ["Call back", "No date"]
    assert len(s.records("tasks")) == 2
