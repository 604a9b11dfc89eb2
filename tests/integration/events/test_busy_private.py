"""private_activities="busy" end to end: a private CRM activity is only a "Private" block in Google,
and Google's edits of it bring back times, never a subject or details."""

from __future__ import annotations

from typing import Any

import pytest

from crmsync.model.event import EventOptions
from tests.integration.events.support import World

pytestmark = pytest.mark.integration


def test_private_activity_is_a_busy_block_and_only_its_time_comes_back(emulator: Any) -> None:
    w = World(emulator, EventOptions(private_activities="busy"))
    body = {
        "subject": "Board prep",
        "description": "numbers for Q4",
        "location": "Room 1",
        "owner_id": "u1",
        "private": True,
        "start": "2026-11-02T15:00:00",
        "end": "2026-11-02T16:00:00",
        "time_zone": "Europe/Berlin",
        "attendees": [{"email": "zoe@example.org"}],
    }
    aid = w.add(body)
    w.add({**body, "subject": "Town hall", "private": False, "attendees": []})
    assert w.sync().writes == {"google.create": 2}
    events = {e["summary"]: e for e in w.events()}
    assert set(events) == {"Private", "Town hall"}
    busy = events["Private"]
    assert busy["visibility"] == "private"
    assert not {"description", "location", "attendees"} & set(busy)
    assert events["Town hall"]["description"] == "numbers for Q4"
    assert w.invitations() == 0
    assert w.sync().writes == {}
    # In Google someone renames the block and moves it an hour later.
    moved = {
        "summary": "Dentist",
        "description": "bring the card",
        "start": {"dateTime": "2026-11-02T16:00:00", "timeZone": "Europe/Berlin"},
        "end": {"dateTime": "2026-11-02T17:00:00", "timeZone": "Europe/Berlin"},
    }
    w.service.events().patch(calendarId="primary", eventId=busy["id"], body=moved).execute()
    assert w.sync().writes == {"crm.update": 1}
    rec = w.activities()[aid]
    assert (rec.subject, rec.description, rec.location) == ("Board prep", "numbers for Q4", "Room 1")
    assert [a.email for a in rec.attendees] == ["zoe@example.org"]
    assert (rec.start, rec.end, rec.private) == ("2026-11-02T16:00:00", "2026-11-02T17:00:00", True)
    assert w.sync().writes == {}  # no phantom change either way
    # The CRM's details never travel: editing them writes nothing to Google.
    w.crm.update("activities", aid, {"subject": "Board prep v2", "location": "Room 2"}, rec.version)
    assert w.sync().writes == {}
    assert {e["summary"] for e in w.events()} == {"Dentist", "Town hall"}
    assert not any(e.get("location") == "Room 2" for e in w.events())
