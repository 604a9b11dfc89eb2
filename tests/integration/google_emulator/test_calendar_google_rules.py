"""Calendar behaviours Google shows that a kinder emulator hid, through the unmodified
google-api-python-client: a series whose start is not on its rule.

Followed: RFC 5545 section 3.3.10 ("The DTSTART property value always counts as the first
occurrence"), and Google's behaviour where it differs, as two public client reports show it
(googleapis/google-api-nodejs-client#2214: a weekly TU,TH,SA COUNT=5 series starting on a Monday
shows 6 events, the Monday included; fmeringdal/rust-rrule#119: "Google Calendar actually generates
4 instances" for COUNT=3 with the start off the rule). Google's own reference is silent, so both
behaviours are available (realism setting ``off_rule_start``: ``google``, the default, or ``rfc5545``).
"""

from __future__ import annotations

from typing import Any

import pytest

from infra.google_emulator.realism import configure
from tests.integration.google_emulator.test_calendar_support import calendar_service, timed

pytestmark = pytest.mark.integration
# Monday 5 October 2026, 09:00 Berlin (07:00 UTC); the rule asks for Wednesdays.
OFF_RULE = timed(
    "2026-10-05T09:00:00",
    "2026-10-05T10:00:00",
    "Europe/Berlin",
    summary="Standup",
    recurrence=["RRULE:FREQ=WEEKLY;BYDAY=WE;COUNT=3"],
)


def _starts(svc: Any, eid: str) -> list[str]:
    items = svc.events().instances(calendarId="primary", eventId=eid).execute()["items"]
    return [i["start"]["dateTime"][:10] for i in items]


def test_google_shows_the_start_and_does_not_count_it(emulator: Any) -> None:
    svc = calendar_service(emulator)
    series = svc.events().insert(calendarId="primary", body=OFF_RULE).execute()
    assert _starts(svc, series["id"]) == ["2026-10-05", "2026-10-07", "2026-10-14", "2026-10-21"]
    # The start's instance has its own id, readable and editable like any other.
    iid = f"{series['id']}_20261005T070000Z"
    got = svc.events().get(calendarId="primary", eventId=iid).execute()
    assert got["recurringEventId"] == series["id"] and got["originalStartTime"]["dateTime"].startswith("2026-10-05")
    moved = svc.events().patch(calendarId="primary", eventId=iid, body={"summary": "Kick-off"}).execute()
    assert moved["id"] == iid
    single = svc.events().list(calendarId="primary", singleEvents=True).execute()["items"]
    assert [e["summary"] for e in single] == ["Kick-off", "Standup", "Standup", "Standup"]
    # An EXDATE on the start removes it like any other occurrence.
    exdate = {**OFF_RULE, "recurrence": [*OFF_RULE["recurrence"], "EXDATE;TZID=Europe/Berlin:20261005T090000"]}
    other = svc.events().insert(calendarId="primary", body=exdate).execute()
    assert _starts(svc, other["id"]) == ["2026-10-07", "2026-10-14", "2026-10-21"]


def test_rfc5545_counts_the_start_as_the_first_occurrence(emulator: Any) -> None:
    svc = calendar_service(emulator)
    configure(emulator.state, {"off_rule_start": "rfc5545"})
    series = svc.events().insert(calendarId="primary", body=OFF_RULE).execute()
    assert _starts(svc, series["id"]) == ["2026-10-05", "2026-10-07", "2026-10-14"]


def test_a_start_on_its_rule_is_counted_once_either_way(emulator: Any) -> None:
    svc = calendar_service(emulator)
    on_rule = {**OFF_RULE, "recurrence": ["RRULE:FREQ=WEEKLY;BYDAY=MO;COUNT=3"]}
    for mode in ("google", "rfc5545"):
        configure(emulator.state, {"off_rule_start": mode})
        series = svc.events().insert(calendarId="primary", body=on_rule).execute()
        assert _starts(svc, series["id"]) == ["2026-10-05", "2026-10-12", "2026-10-19"], mode


# Cancelled occurrences and cancelled events. Followed: events.list, ``showDeleted``
# (https://developers.google.com/workspace/calendar/api/v3/reference/events/list): "Cancelled instances
# of recurring events (but not the underlying recurring event) will still be included if showDeleted
# and singleEvents are both False"; the Event resource, ``status``
# (https://developers.google.com/workspace/calendar/api/v3/reference/events): "On the organizer's
# calendar, cancelled events continue to expose event details (summary, location, etc.) so that they
# can be restored (undeleted) ... However, incremental sync requests with showDeleted set to false will
# not return these details. If an event changes its organizer (for example via the move operation) ...
# it will leave behind a cancelled event where only the id field is guaranteed to be populated."
WEEKLY = timed(
    "2026-10-05T09:00:00",
    "2026-10-05T10:00:00",
    "Europe/Berlin",
    summary="Weekly",
    recurrence=["RRULE:FREQ=WEEKLY;COUNT=4"],
)


def test_a_cancelled_occurrence_stays_in_full_listings_so_it_is_not_resurrected(emulator: Any) -> None:
    svc = calendar_service(emulator)
    series = svc.events().insert(calendarId="primary", body=WEEKLY).execute()
    iid = f"{series['id']}_20261012T070000Z"
    svc.events().delete(calendarId="primary", eventId=iid).execute()
    plain = svc.events().list(calendarId="primary").execute()["items"]  # showDeleted=false, singleEvents=false
    cancelled = [i for i in plain if i["status"] == "cancelled"]
    assert [i["id"] for i in cancelled] == [iid]
    assert cancelled[0]["recurringEventId"] == series["id"]
    assert cancelled[0]["originalStartTime"]["dateTime"].startswith("2026-10-12T09:00:00")
    # singleEvents=true without showDeleted leaves it out; a deleted series takes its occurrences along.
    single = svc.events().list(calendarId="primary", singleEvents=True).execute()["items"]
    assert iid not in [i["id"] for i in single] and len(single) == 3
    svc.events().delete(calendarId="primary", eventId=series["id"]).execute()
    assert svc.events().list(calendarId="primary").execute()["items"] == []


def test_cancelled_events_keep_details_on_the_organizers_calendar_only_where_google_shows_them(
    emulator: Any,
) -> None:
    svc = calendar_service(emulator)
    body = timed("2026-10-06T09:00:00", "2026-10-06T10:00:00", "UTC", summary="Lunch", location="Canteen")
    _, first, _ = _full_sync(svc)
    event = svc.events().insert(calendarId="primary", body=body).execute()
    svc.events().delete(calendarId="primary", eventId=event["id"]).execute()
    shown = svc.events().list(calendarId="primary", showDeleted=True).execute()["items"]
    assert [(i["status"], i.get("summary"), i.get("location")) for i in shown] == [("cancelled", "Lunch", "Canteen")]
    with_details = svc.events().list(calendarId="primary", syncToken=first, showDeleted=True).execute()["items"]
    assert with_details[0].get("summary") == "Lunch"
    bare = svc.events().list(calendarId="primary", syncToken=first).execute()["items"]
    assert [set(i) - {"kind", "etag"} for i in bare] == [{"id", "status"}]
    # Moved to another calendar: the organizer changed, the source keeps a bare tombstone.
    other = svc.calendars().insert(body={"summary": "Team"}).execute()
    moving = svc.events().insert(calendarId="primary", body={**body, "summary": "Offsite"}).execute()
    svc.events().move(calendarId="primary", eventId=moving["id"], destination=other["id"]).execute()
    left = svc.events().list(calendarId="primary", showDeleted=True).execute()["items"]
    left_behind = next(i for i in left if i["id"] == moving["id"])
    assert left_behind["status"] == "cancelled" and "summary" not in left_behind


def _full_sync(svc: Any) -> tuple[list[dict[str, Any]], str, int]:
    resp = svc.events().list(calendarId="primary").execute()
    return resp["items"], resp["nextSyncToken"], 1
