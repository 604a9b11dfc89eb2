"""A setting that names something gone in Google (a read calendar, a task list) stops that kind
with a message naming the setting; the other kinds go on and nothing is deleted (issue 11 §4).

Before: a read calendar deleted in Google made every run fail with "unexpected error" (a 404
escaping the run) while the page showed Active; a deleted task list marked the connection
needs_reauth, and reconnecting did not help. Whole run service over the Google emulator."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from crmsync.model.event import EventOptions
from crmsync.model.kinds import Kind
from crmsync.model.task import TaskOptions
from crmsync.services.run_sync import sync_connection
from crmsync.services.status import summarise_run
from tests.integration.sync.test_target_switch import Stack, when

pytestmark = pytest.mark.integration


def run(s: Stack, *kinds: Kind) -> dict[str, Any]:
    return sync_connection(s.conn, s.token, s.deps, kinds=list(kinds)).as_dict()


def test_a_read_calendar_deleted_in_google_stops_events_naming_the_setting(emulator: Any) -> None:
    s = Stack(emulator)
    other = s.google("/calendar/v3/calendars", "POST", {"summary": "Team"})["id"]
    s.google(f"/calendar/v3/calendars/{other}/events", "POST", {"summary": "Standup", **_google_when(9)})
    s.change(event_options=EventOptions(read_calendars=(other,)))
    s.crm.create("tasks", {"title": "Call back"}, "t1", on_behalf_of=s.user)
    s.settle(Kind.EVENTS)
    assert [a.subject for a in s.records("activities").values()] == ["Standup"]

    delete(s, f"/calendar/v3/calendars/{other}")
    summary = run(s, Kind.EVENTS, Kind.TASKS)  # before: NotFound escaped the run
    events = summary["kinds"]["events"]
    assert events["setting"] == "event_options.read_calendars"
    assert other in events["stopped"] and "no longer exists" in events["stopped"]
    assert summary["kinds"]["tasks"]["complete"] is True  # the other kinds go on
    assert summary["kinds"]["tasks"]["writes"] == {"google.create": 1}
    assert [a.subject for a in s.records("activities").values()] == ["Standup"]  # nothing deleted
    assert summarise_run(summary).ok is False

    s.change(event_options=EventOptions())  # the user removes it from the calendars read
    after = run(s, Kind.EVENTS)["kinds"]["events"]
    assert "stopped" not in after


def test_a_synced_task_list_deleted_in_google_stops_tasks_not_the_connection(emulator: Any) -> None:
    s = Stack(emulator)
    lst = s.google("/tasks/v1/users/@me/lists", "POST", {"title": "Errands"})["id"]
    s.google(f"/tasks/v1/lists/{lst}/tasks", "POST", {"title": "Buy stamps"})
    s.change(task_options=TaskOptions(lists=(lst,)))
    s.crm.create("activities", {"subject": "Kickoff", **when(9)}, "a1", on_behalf_of=s.user)
    s.settle(Kind.TASKS)
    delete(s, f"/tasks/v1/users/@me/lists/{lst}")

    summary = run(s, Kind.TASKS, Kind.EVENTS)  # before: TaskListMissing was a reason to reconnect
    tasks = summary["kinds"]["tasks"]
    assert tasks["setting"] == "task_options.lists"
    assert lst in tasks["stopped"]
    assert summary["kinds"]["events"]["complete"] is True
    assert [t.title for t in s.records("tasks").values()] == ["Buy stamps"]  # kept in the CRM


def delete(s: Stack, path: str) -> None:
    resp = requests.delete(s.base + path, headers={"Authorization": f"Bearer {s.access()}"}, timeout=10)
    assert resp.status_code == 204, resp.text


def _google_when(hour: int) -> dict[str, Any]:
    day = when(hour)["start"][:10]
    return {
        "start": {"dateTime": f"{day}T{hour:02d}:00:00", "timeZone": "Europe/Berlin"},
        "end": {"dateTime": f"{day}T{hour + 1:02d}:00:00", "timeZone": "Europe/Berlin"},
    }
