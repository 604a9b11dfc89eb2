"""Custom fields of activities (Calendar extended properties) and tasks (labelled lines of the
notes: Google Tasks has no custom fields) sync both ways through the local stack."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from crmsync.crm.custom_fields import REFERENCE_FIELDS
from crmsync.crm.models import Activity, Task
from crmsync.model.field_mapping import FieldMap, FieldMapping, Target
from crmsync.model.kinds import Kind
from tests.integration.mapping.conftest import Stack

pytestmark = pytest.mark.integration
ACTIVITY = {f.name: f for f in REFERENCE_FIELDS["activities"]}
TASK = {f.name: f for f in REFERENCE_FIELDS["tasks"]}
EVENTS = FieldMapping(
    events=[
        FieldMap(field=ACTIVITY["deal_stage"], target=Target.PRIVATE_PROPERTY, key="dealStage"),
        FieldMap(field=ACTIVITY["meeting_code"], target=Target.SHARED_PROPERTY, key="meetingCode"),
    ]
)
TASKS = FieldMapping(
    tasks=[
        FieldMap(field=TASK["priority"], target=Target.NOTES_LINE, key="Priority"),
        FieldMap(field=TASK["effort_hours"], target=Target.NOTES_LINE, key="Effort"),
    ]
)


def _event(stack: Stack) -> dict[str, Any]:
    items = stack.calendar.events().list(calendarId="primary").execute().get("items", [])
    return next(e for e in items if e.get("summary") == "Review")


def _activity(stack: Stack) -> Activity:
    found = stack.record("activities", lambda r: getattr(r, "subject", None) == "Review")
    assert isinstance(found, Activity)
    return found


def test_custom_activity_fields_sync_both_ways(stack: Stack) -> None:
    day = (datetime.now(UTC) + timedelta(days=2)).date().isoformat()
    stack.crm_server.store.create_many(
        "activities",
        [
            {
                "subject": "Review",
                "owner_id": "u1",
                "start": f"{day}T10:00:00",
                "end": f"{day}T11:00:00",
                "time_zone": "Europe/Berlin",
                "custom_fields": {"deal_stage": "Proposal", "meeting_code": "R-12"},
            }
        ],
    )
    stack.run(EVENTS, Kind.EVENTS)
    ev = _event(stack)
    assert ev["extendedProperties"]["private"]["dealStage"] == "Proposal"
    assert ev["extendedProperties"]["shared"] == {"meetingCode": "R-12"}

    # Google edits: a mapped property changes, one is deleted, a property nobody maps is left alone.
    props = {"private": {"dealStage": "Won", "other": "x"}, "shared": {"meetingCode": None}}
    stack.calendar.events().patch(calendarId="primary", eventId=ev["id"], body={"extendedProperties": props}).execute()
    stack.run(EVENTS, Kind.EVENTS)
    assert _activity(stack).custom_fields == {"deal_stage": "Won"}

    activity = _activity(stack)
    stack.crm.update("activities", activity.id, {"custom_fields": {"deal_stage": "Lost"}}, activity.version)
    report = stack.run(EVENTS, Kind.EVENTS)
    assert report["writes"] == {"google.update": 1}, report
    private = _event(stack)["extendedProperties"]["private"]
    assert private["dealStage"] == "Lost" and private["other"] == "x"
    assert stack.run(EVENTS, Kind.EVENTS)["writes"] == {}


def _task(stack: Stack) -> Task:
    found = stack.record("tasks", lambda r: getattr(r, "title", None) == "Send offer")
    assert isinstance(found, Task)
    return found


def _google_task(stack: Stack) -> dict[str, Any]:
    for tasklist in stack.tasks.tasklists().list().execute().get("items", []):
        for item in stack.tasks.tasks().list(tasklist=tasklist["id"]).execute().get("items", []):
            if item.get("title") == "Send offer":
                return {**item, "list": tasklist["id"]}
    raise AssertionError("no such task in Google")


def test_custom_task_fields_sync_both_ways_as_lines_of_the_notes(stack: Stack) -> None:
    stack.crm_server.store.create_many(
        "tasks",
        [
            {
                "title": "Send offer",
                "owner_id": "u1",
                "notes": "Call first",
                "custom_fields": {"priority": "High", "effort_hours": 2.5},
            }
        ],
    )
    stack.run(TASKS, Kind.TASKS)
    g = _google_task(stack)
    assert g["notes"] == "Call first\n\nPriority: High\nEffort: 2.5"

    notes = "Call first, then mail\n\nPriority: Low\nEffort: 2.5"
    stack.tasks.tasks().patch(tasklist=g["list"], task=g["id"], body={"notes": notes}).execute()
    stack.run(TASKS, Kind.TASKS)
    task = _task(stack)
    assert task.notes == "Call first, then mail"
    assert task.custom_fields == {"priority": "Low", "effort_hours": 2.5}

    stack.crm.update("tasks", task.id, {"custom_fields": {"effort_hours": 4}}, task.version)
    report = stack.run(TASKS, Kind.TASKS)
    assert report["writes"] == {"google.update": 1}, report
    assert _google_task(stack)["notes"] == "Call first, then mail\n\nPriority: Low\nEffort: 4"
    assert stack.run(TASKS, Kind.TASKS)["writes"] == {}
