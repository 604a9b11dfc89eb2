"""Private activities shown in Google only as busy blocks (``private_activities="busy"``)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from crmsync.crm.activity_shape import keep_exception_texts
from crmsync.crm.events_side import CrmEvents
from crmsync.crm.fake import FakeCrm
from crmsync.crm.models import Activity
from crmsync.google.calendar_mapping import event_canon, insert_body
from crmsync.model.event import BUSY_SUMMARY, EventOptions, busy_canon, canonical_event
from crmsync.model.settings import KindSettings

pytestmark = pytest.mark.unit
ME = "anna@corp.example"


def raw(**kw: Any) -> dict[str, Any]:
    return {
        "subject": "Board prep",
        "description": "numbers for Q4",
        "location": "Room 1",
        "start": {"local": "2026-11-02T15:00:00", "tz": "Europe/Berlin"},
        "end": {"local": "2026-11-02T16:00:00", "tz": "Europe/Berlin"},
        "attendees": [{"email": "zoe@example.org"}],
        "organizer": ME,
        "private": True,
        "reminders": [{"method": "popup", "minutes": 10}],
        **kw,
    }


def test_busy_option_is_accepted_and_others_are_refused() -> None:
    assert EventOptions(private_activities="busy").private_activities == "busy"
    with pytest.raises(ValidationError):
        EventOptions.model_validate({"private_activities": "hide"})


def test_a_private_event_masks_to_a_busy_block_and_a_public_one_stays() -> None:
    canon = canonical_event(raw())
    busy = busy_canon(canon)
    assert (busy["subject"], busy["description"], busy["location"], busy["attendees"]) == (BUSY_SUMMARY, None, None, [])
    assert (busy["start"], busy["end"], busy["reminders"], busy["private"]) == (
        canon["start"],
        canon["end"],
        canon["reminders"],
        True,
    )
    public = canonical_event(raw(private=False))
    assert busy_canon(public) == public


def test_occurrences_keep_their_times_but_not_their_titles() -> None:
    series = raw(
        recurrence=["RRULE:FREQ=WEEKLY;COUNT=4"],
        exceptions=[
            {"original_start": "2026-11-09T15:00:00", "start": "2026-11-10T15:00:00", "subject": "moved"},
            {"original_start": "2026-11-16T15:00:00", "subject": "retitled only"},
            {"original_start": "2026-11-23T15:00:00", "cancelled": True},
        ],
    )
    busy = busy_canon(canonical_event(series))
    assert [(e["value"], e["start"], e["subject"], e["cancelled"]) for e in busy["exceptions"]] == [
        ("2026-11-09T15:00:00", "2026-11-10T15:00:00", None, False),
        ("2026-11-23T15:00:00", None, None, True),
    ]


def test_the_google_insert_of_a_busy_block_reads_back_the_same() -> None:
    busy = busy_canon(canonical_event(raw()))
    body = insert_body(busy, "abcde", "a1", "conn1")
    assert body["summary"] == BUSY_SUMMARY
    assert body["visibility"] == "private"
    assert not {"description", "location", "attendees"} & set(body)
    stored = {**body, "organizer": {"email": ME, "self": True}, "status": "confirmed"}
    assert event_canon(stored, [], "UTC", ME) == busy  # no phantom change


def side(crm: FakeCrm, mode: str) -> CrmEvents:
    options = EventOptions.model_validate({"private_activities": mode})
    return CrmEvents(crm, "conn1", "u1", KindSettings(google_group=None), options)


def test_the_crm_side_reads_private_activities_as_busy_blocks_and_never_writes_their_details() -> None:
    crm = FakeCrm()
    crm.add_user(ME, "Anna", user_id="u1")
    body = {"subject": "Board prep", "description": "numbers", "owner_id": "u1", "private": True}
    rid = crm.create(
        "activities", {**body, "start": "2026-11-02T15:00:00", "end": "2026-11-02T16:00:00", "time_zone": "UTC"}, "k1"
    ).id
    busy, synced = side(crm, "busy"), side(crm, "sync")
    canon = busy.get([rid])[rid].canon
    assert canon is not None
    assert canon["subject"] == BUSY_SUMMARY
    assert synced.get([rid])[rid].canon == {**canon, "subject": "Board prep", "description": "numbers"}
    google = {**canon, "subject": "Dentist", "start": {"local": "2026-11-02T17:00:00", "tz": "UTC"}}
    fields = {"subject": "Dentist", "description": "x", "start": google["start"]}
    patch = busy.body(fields, google, creating=False)
    assert "subject" not in patch
    assert "description" not in patch
    assert patch["start"] == "2026-11-02T17:00:00"
    assert synced.body(fields, google, creating=False)["subject"] == "Dentist"
    assert busy.body({"private": False, "subject": "Dentist"}, {**google, "private": False}, creating=False) == {
        "private": False,
        "subject": "Dentist",
    }  # made public in Google: an ordinary activity again


def test_busy_writes_keep_the_crm_titles_of_occurrences() -> None:
    current = Activity.model_validate(
        {
            "id": "a1",
            "version": 1,
            "created_at": "2026-10-01T00:00:00Z",
            "updated_at": "2026-10-01T00:00:00Z",
            "subject": "1:1",
            "start": "2026-11-02T15:00:00",
            "end": "2026-11-02T16:00:00",
            "time_zone": "UTC",
            "exceptions": [
                {"original_start": "2026-11-09T15:00:00", "start": "2026-11-10T15:00:00", "subject": "moved"},
                {"original_start": "2026-11-16T15:00:00", "location": "Cafe"},
            ],
        }
    )
    written = [
        {"original_start": "2026-11-09T15:00:00", "cancelled": False, "start": "2026-11-11T15:00:00", "end": None}
        | dict.fromkeys(("subject", "description", "location")),
        {"original_start": "2026-11-23T15:00:00", "cancelled": True}
        | dict.fromkeys(("start", "end", "subject", "description", "location")),
    ]
    out = keep_exception_texts(written, current)
    assert [(e["original_start"], e["start"], e["subject"], e["location"]) for e in out] == [
        ("2026-11-09T15:00:00", "2026-11-11T15:00:00", "moved", None),
        ("2026-11-23T15:00:00", None, None, None),
        ("2026-11-16T15:00:00", None, None, "Cafe"),
    ]
