"""Google event JSON <-> canonical events, ids and the quota pacer."""

from __future__ import annotations

import re
from typing import Any

import pytest

from crmsync.google.calendar_mapping import (
    CRM_ID_PROP,
    crm_id_of,
    event_canon,
    event_id,
    insert_body,
    instance_id,
    is_foreign_copy,
    patch_body,
    when_canon,
)
from crmsync.google.pacing import Pacer

pytestmark = pytest.mark.unit
ME = "anna@corp.example"


def series() -> dict[str, Any]:
    return {
        "id": "abc123",
        "summary": "1:1",
        "start": {"dateTime": "2026-11-02T15:00:00Z", "timeZone": "Europe/London"},
        "end": {"dateTime": "2026-11-02T15:30:00Z", "timeZone": "Europe/London"},
        "recurrence": ["RRULE:FREQ=WEEKLY;COUNT=8", "EXDATE;TZID=Europe/London:20261116T150000"],
        "organizer": {"email": ME, "self": True},
        "attendees": [
            {"email": ME, "organizer": True, "responseStatus": "accepted"},
            {"email": "Bob@Example.com", "responseStatus": "tentative"},
            {"email": "room@resource.calendar.google.com", "resource": True},
        ],
        "reminders": {"useDefault": True},
        "visibility": "confidential",
    }


def test_event_id_is_deterministic_base32hex() -> None:
    eid = event_id("conn1", "act_1")
    assert eid == event_id("conn1", "act_1") != event_id("conn2", "act_1")
    assert re.fullmatch(r"[a-v0-9]{5,1024}", eid)


def test_wall_clock_kept_in_the_event_zone_across_dst() -> None:
    summer = when_canon({"dateTime": "2026-10-19T09:00:00+02:00", "timeZone": "Europe/Berlin"}, "Europe/Berlin")
    winter = when_canon({"dateTime": "2026-10-26T08:00:00Z"}, "Europe/Berlin")
    assert summer["local"][11:] == winter["local"][11:] == "09:00:00"


def test_series_with_moved_and_cancelled_instances_folds_into_one_record() -> None:
    moved = {
        "id": "abc123_20261123T150000Z",
        "recurringEventId": "abc123",
        "originalStartTime": {"dateTime": "2026-11-23T15:00:00Z", "timeZone": "Europe/London"},
        "start": {"dateTime": "2026-11-24T10:00:00Z", "timeZone": "Europe/London"},
        "end": {"dateTime": "2026-11-24T10:30:00Z", "timeZone": "Europe/London"},
        "summary": "1:1",
    }
    cancelled = {
        "id": "abc123_20261130T150000Z",
        "status": "cancelled",
        "recurringEventId": "abc123",
        "originalStartTime": {"dateTime": "2026-11-30T15:00:00Z"},
    }
    canon = event_canon(series(), [moved, cancelled], "UTC", ME)
    assert canon["start"] == {"local": "2026-11-02T15:00:00", "tz": "Europe/London"}
    assert canon["private"] is True
    assert canon["organizer"] == ME
    assert canon["reminders"] == []
    assert canon["attendees"] == [{"value": "bob@example.com", "response": "tentative"}]
    assert [(e["value"], e["cancelled"], e["start"]) for e in canon["exceptions"]] == [
        ("2026-11-16T15:00:00", True, None),  # the master's EXDATE: a cancellation like any other
        ("2026-11-23T15:00:00", False, "2026-11-24T10:00:00"),
        ("2026-11-30T15:00:00", True, None),
    ]
    assert not [x for x in canon["recurrence"] if x.startswith("EXDATE")]
    assert insert_body(canon, "abc123", "act_1", "conn1")["recurrence"] == [
        *canon["recurrence"],
        "EXDATE;TZID=Europe/London:20261116T150000",
        "EXDATE;TZID=Europe/London:20261130T150000",  # written as EXDATEs: one request, not one per instance
    ]


def test_bodies_round_trip_through_the_canon() -> None:
    canon = event_canon(series(), [], "UTC", ME)
    body = insert_body(canon, "abc123", "act_1", "conn1")
    assert body["start"] == {"dateTime": "2026-11-02T15:00:00", "timeZone": "Europe/London"}
    assert body["extendedProperties"]["private"][CRM_ID_PROP] == "act_1"
    assert body["iCalUID"] == "abc123@crmsync"
    echoed = {**body, "organizer": {"email": ME, "self": True}}
    assert event_canon(echoed, [], "UTC", ME) == canon
    assert crm_id_of(echoed, "conn1") == "act_1"
    assert crm_id_of(echoed, "conn2") is None
    assert not is_foreign_copy(echoed, "conn1")
    assert is_foreign_copy(echoed, "conn2")


def test_patch_sends_only_changed_fields() -> None:
    canon = event_canon(series(), [], "UTC", ME)
    assert patch_body({"location": "Room 1"}, {**canon, "location": "Room 1"}) == {"location": "Room 1"}
    body = patch_body({"start": canon["start"]}, canon)
    assert set(body) == {"start", "end", "recurrence"}  # a series' times go with its rule
    assert patch_body({"organizer": "x@y.org"}, canon) == {}  # Google's organizer is read-only


def test_instance_ids_use_utc_or_the_date() -> None:
    canon = event_canon(series(), [], "UTC", ME)
    assert instance_id("abc123", "2026-11-23T15:00:00", canon) == "abc123_20261123T150000Z"
    day = {**canon, "all_day": True}
    assert instance_id("abc123", "2026-12-24", day) == "abc123_20261224"


def test_pacer_counts_a_sliding_minute() -> None:
    now = [0.0]
    pacer = Pacer(600, clock=lambda: now[0])
    pacer.record(500)
    assert pacer.room() == 100
    assert pacer.wait_for(200) == 60.0
    now[0] = 61.0
    assert pacer.room() == 600
    assert pacer.wait_for(200) == 0.0
    assert Pacer(None).room() > 10**6
