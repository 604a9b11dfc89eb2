"""Calendar emulator: events.quickAdd through the real client (the clock is frozen at 2026-10-01 08:00 UTC)."""

from __future__ import annotations

from typing import Any

import pytest

from infra.google_emulator import calendar as cal_module

from .test_calendar_support import ME, api_error, calendar_service

pytestmark = pytest.mark.integration


def _quick(svc: Any, text: str, calendar_id: str = "primary", **params: Any) -> dict[str, Any]:
    return dict(svc.events().quickAdd(calendarId=calendar_id, text=text, **params).execute())


def test_quick_add_creates_a_listable_one_hour_event(emulator) -> None:
    svc = calendar_service(emulator)
    token = svc.events().list(calendarId="primary").execute()["nextSyncToken"]
    ev = _quick(svc, "Lunch tomorrow 12:30")
    assert ev["summary"] == "Lunch"
    assert ev["start"] == {"dateTime": "2026-10-02T12:30:00Z", "timeZone": "UTC"}
    assert ev["end"] == {"dateTime": "2026-10-02T13:30:00Z", "timeZone": "UTC"}
    assert ev["organizer"] == {"email": ME, "self": True}
    assert ev["iCalUID"] == ev["id"] + "@google.com"
    assert [i["id"] for i in svc.events().list(calendarId="primary").execute()["items"]] == [ev["id"]]
    changed = svc.events().list(calendarId="primary", syncToken=token).execute()["items"]
    assert [(i["id"], i["etag"]) for i in changed] == [(ev["id"], ev["etag"])]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Appointment at Somewhere on June 3rd 10am-10:25am",
            {
                "summary": "Appointment",
                "location": "Somewhere",
                "start": {"dateTime": "2027-06-03T10:00:00+02:00", "timeZone": "Europe/Berlin"},
                "end": {"dateTime": "2027-06-03T10:25:00+02:00", "timeZone": "Europe/Berlin"},
            },
        ),
        (
            "Team sync friday 10-11am",
            {
                "summary": "Team sync",
                "start": {"dateTime": "2026-10-02T10:00:00+02:00", "timeZone": "Europe/Berlin"},
                "end": {"dateTime": "2026-10-02T11:00:00+02:00", "timeZone": "Europe/Berlin"},
            },
        ),
        (
            "Party Dec 31 9pm-1am",
            {
                "summary": "Party",
                "start": {"dateTime": "2026-12-31T21:00:00+01:00", "timeZone": "Europe/Berlin"},
                "end": {"dateTime": "2027-01-01T01:00:00+01:00", "timeZone": "Europe/Berlin"},
            },
        ),
        ("Offsite 3 November", {"summary": "Offsite", "start": {"date": "2026-11-03"}, "end": {"date": "2026-11-04"}}),
        ("Dentist", {"summary": "Dentist", "start": {"date": "2026-10-01"}, "end": {"date": "2026-10-02"}}),
        (
            "Dinner for 5-6 people tonight 7pm",
            {
                "summary": "Dinner for 5-6 people",
                "start": {"dateTime": "2026-10-01T19:00:00+02:00", "timeZone": "Europe/Berlin"},
                "end": {"dateTime": "2026-10-01T20:00:00+02:00", "timeZone": "Europe/Berlin"},
            },
        ),
    ],
)
def test_quick_add_parses_in_the_calendars_zone(emulator, text: str, expected: dict[str, Any]) -> None:
    svc = calendar_service(emulator)
    berlin = svc.calendars().insert(body={"summary": "CRM", "timeZone": "Europe/Berlin"}).execute()["id"]
    ev = _quick(svc, text, berlin)
    assert {k: ev.get(k) for k in expected} == expected
    assert "location" in expected or "location" not in ev
    got = svc.events().get(calendarId=berlin, eventId=ev["id"]).execute()
    assert got == ev


def test_quick_add_counts_no_mail_and_rejects_blank_text(emulator) -> None:
    svc = calendar_service(emulator)
    _quick(svc, "Call Zoe 2026-10-05 at 3pm", sendUpdates="all")
    assert cal_module.dump(emulator.state.account(ME), emulator.state)["invitationEmailsSent"] == 0
    status, reason, _, err = api_error(lambda: _quick(svc, "   "))
    assert (status, reason, err["location"]) == (400, "required", "text")
    assert api_error(lambda: _quick(svc, "x", "nope@group.calendar.google.com"))[:2] == (404, "notFound")
