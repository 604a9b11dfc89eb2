"""An event the user moves to another calendar in Google (events.move): followed when crmsync reads
that calendar, taken out of the sync (the delete rule) when it does not."""

from __future__ import annotations

from typing import Any

import pytest

from crmsync.model.event import EventOptions
from tests.integration.events.support import World

pytestmark = pytest.mark.integration
WHEN = {"start": "2026-10-20T09:00:00", "end": "2026-10-20T10:00:00", "time_zone": "Europe/Berlin", "owner_id": "u1"}


def team_calendar(w: World) -> str:
    return str(w.service.calendars().insert(body={"summary": "Team"}).execute()["id"])


def test_an_event_moved_to_a_calendar_that_is_read_stays_linked(emulator: Any) -> None:
    w0 = World(emulator)
    team = team_calendar(w0)
    w = World(emulator, EventOptions(read_calendars=(team,)))
    w.store, w.links = w0.store, w0.links
    aid = w.add({"subject": "Kickoff", **WHEN})
    w.sync()
    [ev] = [e for e in w.events() if e["summary"] == "Kickoff"]
    w.service.events().move(calendarId="primary", eventId=ev["id"], destination=team).execute()
    w.service.events().patch(calendarId=team, eventId=ev["id"], body={"summary": "Kickoff (team)"}).execute()
    reports = [w.sync() for _ in range(3)]
    assert [r.errors for r in reports] == [[], [], []]
    assert reports[-1].writes == {}
    [activity] = w.activities().values()
    assert (activity.id, activity.subject) == (aid, "Kickoff (team)")  # the same record, edited; not re-created
    [link] = list(w.links.all_links(w.engine().kind))
    assert (link.crm_id, link.google_id) == (aid, f"{team}/{ev['id']}")


def test_an_event_moved_to_a_calendar_that_is_not_read_leaves_the_sync(emulator: Any) -> None:
    w = World(emulator)
    w.add({"subject": "Kickoff", **WHEN})
    w.sync()
    [ev] = [e for e in w.events() if e["summary"] == "Kickoff"]
    w.service.events().move(calendarId="primary", eventId=ev["id"], destination=team_calendar(w)).execute()
    report = w.sync()
    assert (report.errors, report.writes) == ([], {"crm.delete": 1})  # the default delete rule
    assert w.activities() == {}
