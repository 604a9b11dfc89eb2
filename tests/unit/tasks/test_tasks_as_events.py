"""CRM tasks as Calendar events: the mapping both ways, completion round trips, no phantom changes."""

from __future__ import annotations

from typing import Any

import pytest

from crmsync.crm.fake import FakeCrm
from crmsync.crm.tasks_side import CrmTasks
from crmsync.google.calendar_mapping import crm_id_of, is_foreign_copy
from crmsync.google.tasks_as_events import DueDatedOnly, _read_token
from crmsync.google.tasks_event_mapping import (
    CHECK,
    STATUS_PROP,
    event_task_canon,
    insert_body,
    patch_body,
    task_crm_id,
    task_event_id,
)
from crmsync.model.normalise import InvalidValue
from crmsync.model.settings import KindSettings
from crmsync.model.task import canonical_task
from crmsync.sync.merge import changed_fields

pytestmark = pytest.mark.unit
CONN = "conn1"


def stored(body: dict[str, Any], patch: dict[str, Any] | None = None) -> dict[str, Any]:
    """The event as Calendar keeps it after an insert and an optional PATCH (objects merged, like Google)."""
    ev = {**body, "status": "confirmed", "etag": '"1"', "updated": "2026-11-01T10:00:00.000Z"}
    for key, value in (patch or {}).items():
        if key == "extendedProperties":
            props = {**ev["extendedProperties"]["private"], **value["private"]}
            ev["extendedProperties"] = {"private": {k: v for k, v in props.items() if v is not None}}
        elif value is None:
            ev.pop(key, None)
        else:
            ev[key] = value
    return ev


def task(**kw: Any) -> dict[str, Any]:
    raw = {"title": "Call back", "notes": "line 1\nline 2", "due": "2026-11-25T16:30:00+01:00", **kw}
    return canonical_task(raw)


def test_event_ids_are_deterministic_base32hex_and_differ_from_activity_ids() -> None:
    eid = task_event_id(CONN, "t1")
    assert eid == task_event_id(CONN, "t1")
    assert eid != task_event_id(CONN, "t2")
    assert eid != task_event_id("conn2", "t1")
    assert set(eid) <= set("0123456789abcdefghijklmnopqrstuv")
    assert 5 <= len(eid) <= 1024


@pytest.mark.parametrize(
    "canon",
    [
        task(),
        task(status="completed", completed="2026-11-20T09:15:00.123+01:00"),
        task(notes=None, title="✓ starts with a check mark"),
        task(title="✓ done, and the title has one too", status="completed", completed="2026-11-20T08:00:00Z"),
    ],
)
def test_insert_reads_back_as_the_same_task(canon: dict[str, Any]) -> None:
    body = insert_body(canon, task_event_id(CONN, "t1"), "t1", CONN)
    assert body["start"] == {"date": "2026-11-25"}
    assert body["end"] == {"date": "2026-11-26"}
    assert event_task_canon(stored(body)) == canon
    assert task_crm_id(stored(body), CONN) == "t1"
    assert task_crm_id(stored(body), "conn2") is None


def test_completion_round_trips_through_patches_and_the_summary() -> None:
    open_task = task()
    ev = stored(insert_body(open_task, "abcde", "t1", CONN))
    done = {**open_task, "status": "completed", "completed": "2026-11-26T07:00:00Z"}
    ev = stored(ev, patch_body(changed_fields(open_task, done), done))
    assert ev["summary"] == f"{CHECK} Call back"
    assert event_task_canon(ev) == done
    reopened = {**done, "status": "needs_action", "completed": None}
    ev = stored(ev, patch_body(changed_fields(done, reopened), reopened))
    assert ev["summary"] == "Call back"
    assert ev["extendedProperties"]["private"][STATUS_PROP] == "needs_action"
    assert event_task_canon(ev) == reopened


def test_a_person_ticking_or_unticking_in_google() -> None:
    ev = stored(insert_body(task(), "abcde", "t1", CONN))
    ticked = event_task_canon({**ev, "summary": f"{CHECK} Call back"})
    assert (ticked["title"], ticked["status"], ticked["completed"]) == ("Call back", "completed", None)
    done = task(status="completed", completed="2026-11-20T08:00:00Z")
    ev = stored(insert_body(done, "abcde", "t1", CONN))
    unticked = event_task_canon({**ev, "summary": "Call back"})
    assert (unticked["status"], unticked["completed"]) == ("needs_action", None)
    renamed = event_task_canon({**ev, "summary": f"{CHECK} Call back today"})
    assert (renamed["title"], renamed["completed"]) == ("Call back today", "2026-11-20T08:00:00Z")


def test_google_edits_map_to_fields_and_unchanged_events_to_no_change() -> None:
    canon = task()
    ev = stored(insert_body(canon, "abcde", "t1", CONN))
    assert changed_fields(canon, event_task_canon(ev)) == {}
    assert changed_fields(canon, event_task_canon(stored(ev))) == {}  # a re-read is not a change
    moved = {**ev, "start": {"date": "2026-11-27"}, "end": {"date": "2026-11-28"}}
    assert changed_fields(canon, event_task_canon(moved)) == {"due_date": "2026-11-27"}
    timed = {**ev, "start": {"dateTime": "2026-11-27T09:00:00+01:00"}, "end": {"dateTime": "2026-11-27T10:00:00+01:00"}}
    assert changed_fields(canon, event_task_canon(timed)) == {"due_date": "2026-11-27"}
    html = {**ev, "description": "line 1<br>line 2"}
    assert changed_fields(canon, event_task_canon(html)) == {}


def test_patch_bodies_send_only_what_changed() -> None:
    canon = task()
    assert patch_body({"notes": None}, {**canon, "notes": None}) == {"description": None}
    assert patch_body({"due_date": "2026-12-01"}, {**canon, "due_date": "2026-12-01"}) == {
        "start": {"date": "2026-12-01"},
        "end": {"date": "2026-12-02"},
    }
    assert patch_body({"due_date": None}, {**canon, "due_date": None}) == {}  # the event keeps its day
    body = patch_body({"title": "New"}, {**canon, "title": "New"})
    assert body["summary"] == "New"
    assert body["extendedProperties"]["private"][STATUS_PROP] == "needs_action"


def test_an_event_without_a_title_is_an_error_not_a_task() -> None:
    ev = stored(insert_body(task(), "abcde", "t1", CONN))
    with pytest.raises(InvalidValue, match="title"):
        event_task_canon({**ev, "summary": "  "})


def test_the_event_sync_leaves_task_events_alone() -> None:
    ev = stored(insert_body(task(), task_event_id(CONN, "t1"), "t1", CONN))
    assert crm_id_of(ev, CONN) is None
    assert is_foreign_copy(ev, CONN)


def test_tokens_of_another_calendar_or_shape_force_a_full_listing() -> None:
    assert _read_token('{"v": 1, "calendar": "primary", "token": "abc"}', "primary") == "abc"
    assert _read_token('{"v": 1, "calendar": "other", "token": "abc"}', "primary") is None
    assert _read_token("not json", "primary") is None
    assert _read_token(None, "primary") is None


def test_undated_crm_tasks_are_not_creatable_in_the_calendar() -> None:
    crm = FakeCrm()
    crm.add_user("anna@corp.example", "Anna", user_id="u1")
    dated = crm.create("tasks", {"owner_id": "u1", "title": "A", "due": "2026-11-25"}, "k1").id
    undated = crm.create("tasks", {"owner_id": "u1", "title": "B"}, "k2").id
    side = DueDatedOnly(CrmTasks(crm, CONN, "u1", KindSettings(google_group=None)))
    listed = {c.id: c for c in side.list_changes(None).changes}
    assert listed[dated].creatable
    assert not listed[undated].creatable
    assert listed[undated].canon is not None  # still a record: a linked one keeps syncing
    assert not side.get([undated])[undated].creatable


def test_a_task_event_whose_pair_was_recreated_in_the_crm_is_given_the_new_task_id() -> None:
    """Issue 13: the event must carry its pair's current CRM task id (it relinks the pair when the
    links are lost); an update giving it one touches nothing else, alone or with changed fields."""
    canon = task()
    ev = stored(insert_body(canon, task_event_id(CONN, "t1"), "t1", CONN))
    assert patch_body({}, canon) == {}
    moved = stored(ev, patch_body({}, canon, "t2", CONN))
    assert task_crm_id(moved, CONN) == "t2" and event_task_canon(moved) == event_task_canon(ev)
    done = {**canon, "status": "completed"}
    both = stored(ev, patch_body(changed_fields(canon, done), done, "t3", CONN))
    assert task_crm_id(both, CONN) == "t3" and event_task_canon(both) == event_task_canon(
        stored(ev, patch_body(changed_fields(canon, done), done))
    )
