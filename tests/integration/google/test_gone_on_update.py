"""An update of a record the user deleted in Google since the engine read it is a conflict in
every adapter, never a permanent "not found" error: the engine re-reads the record, finds it
gone, and the delete rule decides in the same run (crmsync/google/write_results.py).

Found by the contacts state machine (explore profile, People's propagation lag); People's own
adapter test is in test_people_writes.py. Here: Calendar events, Google Tasks, tasks as events."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from crmsync.google.client import Endpoint, build_service
from crmsync.google.intents import MemoryIntentStore
from crmsync.google.pacing import Pacer
from crmsync.google.tasks_as_events import CalendarTasks
from crmsync.ports import OpCounter, WriteOp
from infra.google_emulator.core import SCOPE_CALENDAR
from tests.integration.events.support import EMAIL
from tests.integration.events.support import World as EventWorld
from tests.integration.tasks.tasks_support import google_side, tasks_service
from tests.support.google import credentials

pytestmark = pytest.mark.integration

EVENT = {
    "summary": "Review",
    "start": {"dateTime": "2026-10-20T10:00:00", "timeZone": "Europe/Berlin"},
    "end": {"dateTime": "2026-10-20T11:00:00", "timeZone": "Europe/Berlin"},
}


def _edit(change: Any, **fields: Any) -> WriteOp:
    return WriteOp(change.id, change.id, fields, {**change.canon, **fields}, change.version)


# ---------------------------------------------------------------- Calendar events


def _calendar_event(emulator: Any) -> tuple[EventWorld, Any]:
    w = EventWorld(emulator)
    made = w.service.events().insert(calendarId="primary", body=EVENT).execute()
    return w, w.google.get([made["id"]])[made["id"]]


def test_a_calendar_update_of_an_event_deleted_since_read_is_a_conflict(emulator: Any) -> None:
    w, seen = _calendar_event(emulator)
    w.service.events().delete(calendarId="primary", eventId=seen.id).execute()
    [conditional] = w.google.update([_edit(seen, subject="Moved")])
    assert conditional.conflict and not conditional.ok  # 412: the delete moved the etag
    unconditional = WriteOp(seen.id, seen.id, {"subject": "Moved"}, {**seen.canon, "subject": "Moved"}, None)
    [result] = w.google.update([unconditional])
    assert result.conflict and not result.ok, result  # Google answers the patch with the cancelled event
    assert w.google.get([seen.id]) == {}  # the engine's re-read: gone, so the delete rule decides


def test_a_calendar_update_of_an_event_no_longer_in_google_is_a_conflict(emulator: Any) -> None:
    w, seen = _calendar_event(emulator)
    gone = WriteOp("k1", "purged0event0id", {"subject": "Moved"}, {**seen.canon, "subject": "Moved"}, seen.version)
    [result] = w.google.update([gone])
    assert result.conflict and not result.ok, result


# ---------------------------------------------------------------- Google Tasks


def test_a_tasks_update_of_a_task_no_longer_in_google_is_a_conflict(emulator: Any) -> None:
    side = google_side(emulator, MemoryIntentStore())
    lists = tasks_service(emulator).tasklists().list().execute()["items"]
    task = tasks_service(emulator).tasks().insert(tasklist=lists[0]["id"], body={"title": "Call"}).execute()
    side.options = side.options.model_copy(update={"lists": [lists[0]["id"]]})
    seen = side.get([task["id"]])[task["id"]]
    tasks_service(emulator).tasks().delete(tasklist=lists[0]["id"], task=task["id"]).execute()
    [deleted] = side.update([_edit(seen, title="Call back")])
    assert deleted.conflict and not deleted.ok
    purged = WriteOp("k2", "purged0task0id", {"title": "x"}, {**seen.canon, "title": "x"}, seen.version)
    [result] = side.update([purged])
    assert result.conflict and not result.ok, result


# ---------------------------------------------------------------- tasks as Calendar events


def test_a_task_event_update_of_an_event_no_longer_in_google_is_a_conflict(emulator: Any) -> None:
    endpoint = Endpoint(emulator.base_url, timeout=30)
    service = build_service("calendar", credentials(emulator.state, EMAIL, frozenset({SCOPE_CALENDAR})), endpoint)
    side = CalendarTasks(
        service,
        endpoint.batch_uri("calendar"),
        connection_id="conn1",
        counter=OpCounter(),
        pacer=Pacer(None),
        sleep=lambda s: emulator.state.clock.advance(timedelta(seconds=s)),
    )
    canon = {"title": "Call", "due_date": "2026-11-03", "completed": False}
    [made] = side.create([WriteOp("t1", None, canon, canon, crm_id="t1")])
    assert made.ok, made
    gone = WriteOp("t1", "purged0event0id", {"title": "Call back"}, {**canon, "title": "Call back"}, made.version)
    [result] = side.update([gone])
    assert result.conflict and not result.ok, result
