"""Real-world calendar data (issue 12): odd but valid series never crash a user's calendar sync,
never lose an unrelated event, and every skip names its reason."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.events.support import World, activity_body

pytestmark = pytest.mark.integration

# The minimal series from the issue: a timed daily series with an extra date, and that date cancelled.
EXTRA_DATE_CANCELLED = {
    "summary": "Evening run",
    "start": {"dateTime": "2026-09-03T19:00:00Z", "timeZone": "UTC"},
    "end": {"dateTime": "2026-09-03T20:00:00Z", "timeZone": "UTC"},
    "recurrence": [
        "RRULE:FREQ=DAILY;UNTIL=20261120T030000Z",
        "RDATE;VALUE=DATE-TIME:20261105T193000Z",
        "EXDATE;VALUE=DATE-TIME:20261105T193000Z",
    ],
}


def insert(w: World, body: dict[str, Any]) -> dict[str, Any]:
    return dict(w.service.events().insert(calendarId="primary", body=body).execute())


def test_series_with_extra_date_and_cancellation_syncs_with_its_neighbours(emulator: Any) -> None:
    """Point 1: failed on main with ``TypeError: can't compare offset-naive and offset-aware
    datetimes`` raised out of the run, so the unrelated event never reached the CRM either."""
    w = World(emulator)
    insert(w, EXTRA_DATE_CANCELLED)
    insert(w, {"summary": "Dentist", **{k: EXTRA_DATE_CANCELLED[k] for k in ("start", "end")}})
    report = w.sync()
    assert report.errors == []
    assert report.notes == []
    subjects = {a.subject: a for a in w.activities().values()}
    assert set(subjects) == {"Evening run", "Dentist"}
    run = subjects["Evening run"]
    assert run.recurrence is not None
    assert run.recurrence.rdates and run.recurrence.exdates
    assert w.sync().writes == {}  # and it settles


def test_crm_series_with_extra_date_and_moved_occurrence_syncs(emulator: Any) -> None:
    """Point 1 from the CRM side: an RDATE plus a moved occurrence (failed on main with the TypeError)."""
    w = World(emulator)
    body = activity_body(
        {"subject": "Ward round", "start": "2026-10-19T09:00:00", "end": "2026-10-19T10:00:00", "tz": "Europe/Berlin",
         "rrule": "FREQ=DAILY;COUNT=10", "moved": [{"original": "2026-10-21T09:00:00", "start": "2026-10-21T11:00:00",
                                                     "end": "2026-10-21T12:00:00"}]}
    )  # fmt: skip
    body["recurrence"]["rdates"] = ["2026-11-02T09:00:00"]
    w.add(body)
    w.add(
        activity_body({"subject": "Other", "start": "2026-10-19T09:00:00", "end": "2026-10-19T10:00:00", "tz": "UTC"})
    )
    report = w.sync()
    assert report.errors == [] and report.notes == []
    assert report.writes == {"google.create": 2}
    assert w.sync().writes == {}


def test_adding_an_attendee_in_the_crm_keeps_names_optional_flags_and_rooms(emulator: Any) -> None:
    """Point 6: failed on main — the attendees PATCH was rebuilt from e-mail and response only,
    so Google lost the other attendees' display names and optional flags, and the meeting room."""
    w = World(emulator)
    room = {"email": "c_room7@resource.calendar.google.com", "displayName": "Room 7", "resource": True}
    insert(
        w,
        {
            "summary": "Planning",
            "start": {"dateTime": "2026-10-20T10:00:00+02:00", "timeZone": "Europe/Berlin"},
            "end": {"dateTime": "2026-10-20T11:00:00+02:00", "timeZone": "Europe/Berlin"},
            "attendees": [
                {"email": "ann@example.org", "displayName": "Ann Lee", "optional": True},
                {"email": "bo@example.org", "displayName": "Bo", "comment": "late"},
                room,
            ],
        },
    )
    w.sync()
    (activity,) = w.activities().values()
    attendees = [{"email": a.email, "response": a.response} for a in activity.attendees]
    w.crm.update("activities", activity.id, {"attendees": [*attendees, {"email": "cy@example.org"}]}, activity.version)
    report = w.sync()
    assert report.errors == [] and report.writes == {"google.update": 1}
    (event,) = (e for e in w.events() if e.get("summary") == "Planning")
    got = {a["email"]: a for a in event["attendees"]}
    assert set(got) == {"ann@example.org", "bo@example.org", "cy@example.org", room["email"]}
    assert (got["ann@example.org"].get("displayName"), got["ann@example.org"].get("optional")) == ("Ann Lee", True)
    assert (got["bo@example.org"].get("displayName"), got["bo@example.org"].get("comment")) == ("Bo", "late")
    assert got[room["email"]].get("resource") is True
    assert w.sync().writes == {}


def test_renaming_a_series_in_the_crm_renames_its_moved_occurrences(emulator: Any) -> None:
    """Point 5: failed on main — the moved occurrence kept the old title in Google, and the next
    sync wrote that old title back into the CRM as a per-occurrence override."""
    w = World(emulator)
    aid = w.add(
        activity_body(
            {"subject": "Standup", "start": "2026-10-19T09:00:00", "end": "2026-10-19T09:15:00",
             "tz": "Europe/Berlin", "rrule": "FREQ=DAILY;COUNT=5",
             "moved": [{"original": "2026-10-20T09:00:00", "start": "2026-10-20T11:00:00", "end": "2026-10-20T11:15:00"}]}
        )
    )  # fmt: skip
    w.sync()
    activity = w.activities()[aid]
    w.crm.update("activities", aid, {"subject": "Daily standup"}, activity.version)
    w.sync()
    w.sync()
    after = w.activities()[aid]
    assert after.subject == "Daily standup"
    assert [(e.original_start, e.subject) for e in after.exceptions] == [("2026-10-20T09:00:00", None)]
    (master,) = (e for e in w.events() if e.get("recurrence"))
    moved = w.service.events().instances(calendarId="primary", eventId=master["id"]).execute()["items"]
    assert {i["summary"] for i in moved} == {"Daily standup"}
    assert w.sync().writes == {}


def test_an_all_day_exception_end_is_inclusive_like_end_date(emulator: Any) -> None:
    """Point 9 (the contract now says so): an all-day occurrence moved to span two days ends on
    its last day in the CRM, like ``end_date``; main wrote Google's exclusive end into the CRM."""
    w = World(emulator)
    body = activity_body(
        {"subject": "Offsite", "all_day": True, "start_date": "2026-11-02", "end_date_inclusive": "2026-11-02",
         "rrule": "FREQ=WEEKLY;COUNT=4"}
    )  # fmt: skip
    body["exceptions"] = [{"original_start": "2026-11-09", "start": "2026-11-10", "end": "2026-11-11"}]
    aid = w.add(body)
    w.sync()
    (master,) = (e for e in w.events() if e.get("recurrence"))
    items = w.service.events().instances(calendarId="primary", eventId=master["id"]).execute()["items"]
    moved = next(i for i in items if i["originalStartTime"]["date"] == "2026-11-09")
    assert (moved["start"], moved["end"]) == ({"date": "2026-11-10"}, {"date": "2026-11-12"})  # two days
    # Moved again in Google, to three days: the CRM gets the last day.
    w.service.events().patch(
        calendarId="primary", eventId=moved["id"], body={"start": {"date": "2026-11-10"}, "end": {"date": "2026-11-13"}}
    ).execute()
    w.sync()
    (exc,) = w.activities()[aid].exceptions
    assert (exc.start, exc.end) == ("2026-11-10", "2026-11-12")
    assert w.sync().writes == {}


def test_a_series_the_crm_cannot_express_is_held_said_and_still_moves(emulator: Any) -> None:
    """Point 8: failed on main — two RRULEs reached the CRM as the first alone without a word."""
    w = World(emulator)
    insert(
        w,
        {
            "summary": "Gym",
            "start": {"dateTime": "2026-10-19T18:00:00+02:00", "timeZone": "Europe/Berlin"},
            "end": {"dateTime": "2026-10-19T19:00:00+02:00", "timeZone": "Europe/Berlin"},
            "recurrence": ["RRULE:FREQ=WEEKLY;COUNT=4;BYDAY=MO", "RRULE:FREQ=WEEKLY;COUNT=4;BYDAY=TH"],
        },
    )
    report = w.sync()
    assert any("recurrence" in n and "held" in n for n in report.notes), report.notes
    (activity,) = w.activities().values()
    assert activity.recurrence is not None and activity.recurrence.rrule == "FREQ=WEEKLY;COUNT=4;BYDAY=MO"
    assert w.sync().writes == {}  # the stand-in is not taken for an edit
    w.crm.update(
        "activities", activity.id, {"start": "2026-10-19T19:00:00", "end": "2026-10-19T20:00:00"}, activity.version
    )
    w.sync()
    (event,) = w.events()
    assert event["start"]["dateTime"].startswith("2026-10-19T19:00:00")
    assert sorted(event["recurrence"]) == ["RRULE:FREQ=WEEKLY;COUNT=4;BYDAY=MO", "RRULE:FREQ=WEEKLY;COUNT=4;BYDAY=TH"]
    assert w.sync().writes == {}


def test_regression_an_attendee_the_crm_refuses_is_held_and_the_event_syncs(emulator: Any) -> None:
    """Point 7: ``someone@lisbon`` (no dot) made the reference CRM refuse the whole activity, on
    create and on update. The activity syncs without that one attendee, the run's notes name it,
    Google keeps it, and nothing ping-pongs."""
    w = World(emulator)
    when = {k: EXTRA_DATE_CANCELLED[k] for k in ("start", "end")}
    ann = {"email": "ann@example.org", "displayName": "Ann"}
    insert(w, {"summary": "Port call", **when, "attendees": [ann, {"email": "someone@lisbon"}]})
    later = insert(w, {"summary": "Debrief", **when, "attendees": [ann]})
    report = w.sync()
    assert report.errors == [], report.errors
    assert any("someone@lisbon" in n and "attendees" in n for n in report.notes), report.notes
    subjects = {a.subject: a for a in w.activities().values()}
    assert set(subjects) == {"Port call", "Debrief"}
    assert [a.email for a in subjects["Port call"].attendees] == ["ann@example.org"]
    assert w.sync().writes == {}
    # Google adds the odd attendee to a synced event: the update goes through without it.
    w.service.events().patch(
        calendarId="primary", eventId=later["id"],
        body={"attendees": [ann, {"email": "someone@lisbon"}, {"email": "bo@example.org"}]},
    ).execute()  # fmt: skip
    report = w.sync()
    assert report.errors == [], report.errors
    assert any("someone@lisbon" in n for n in report.notes), report.notes
    debrief = next(a for a in w.activities().values() if a.subject == "Debrief")
    assert sorted(a.email for a in debrief.attendees) == ["ann@example.org", "bo@example.org"]
    assert w.sync().writes == {}
    # The CRM edits the activity: Google keeps the attendee the CRM could not hold.
    w.crm.update("activities", debrief.id, {"location": "Quay 3"}, debrief.version)
    assert w.sync().errors == []
    event = next(e for e in w.events() if e.get("summary") == "Debrief")
    assert event.get("location") == "Quay 3"
    assert {a["email"] for a in event["attendees"]} == {"ann@example.org", "someone@lisbon", "bo@example.org"}
    assert w.sync().writes == {}


def test_regression_attendee_names_reach_the_crm_from_google(emulator: Any) -> None:
    """Point 6: the CRM's attendee ``name`` stayed empty (331 events of the corpus). Google's display
    names fill it on create and when Google adds or changes one; the CRM's own names stay where
    Google has none; nothing ping-pongs."""
    w = World(emulator)
    when = {k: EXTRA_DATE_CANCELLED[k] for k in ("start", "end")}
    made = insert(
        w,
        {"summary": "Review", **when,
         "attendees": [{"email": "ann@example.org", "displayName": "Ann Lee"}, {"email": "bo@example.org"}]},
    )  # fmt: skip
    body = activity_body(
        {"subject": "Intro", "start": "2026-10-19T09:00:00", "end": "2026-10-19T10:00:00", "tz": "UTC"}
    )
    body["attendees"] = [{"email": "cy@example.org", "name": "Cy Young"}, {"email": "di@example.org"}]
    intro = w.add(body)
    report = w.sync()
    assert report.errors == [], report.errors
    names = {a.subject: {x.email: x.name for x in a.attendees} for a in w.activities().values()}
    assert names["Review"] == {"ann@example.org": "Ann Lee", "bo@example.org": None}
    assert names["Intro"] == {"cy@example.org": "Cy Young", "di@example.org": None}  # the CRM's own, kept
    assert w.sync().writes == {}
    # Google adds a name and changes another: the CRM follows.
    w.service.events().patch(
        calendarId="primary", eventId=made["id"],
        body={"attendees": [{"email": "ann@example.org", "displayName": "Ann Lee-Park"},
                            {"email": "bo@example.org", "displayName": "Bo Berg"}]},
    ).execute()  # fmt: skip
    report = w.sync()
    assert report.errors == [] and report.writes == {"crm.update": 1}, report
    review = next(a for a in w.activities().values() if a.subject == "Review")
    assert {x.email: x.name for x in review.attendees} == {
        "ann@example.org": "Ann Lee-Park",
        "bo@example.org": "Bo Berg",
    }
    # Google edits the CRM-made meeting without names: the CRM's names stay.
    (event,) = (e for e in w.events() if e.get("summary") == "Intro")
    w.service.events().patch(calendarId="primary", eventId=event["id"], body={"location": "Room 2"}).execute()
    assert w.sync().errors == []
    after = w.activities()[intro]
    assert after.location == "Room 2"
    assert {x.email: x.name for x in after.attendees} == {"cy@example.org": "Cy Young", "di@example.org": None}
    assert w.sync().writes == {}


def test_regression_an_all_day_occurrence_in_a_timed_series_is_held_and_the_series_syncs(emulator: Any) -> None:
    """Point 7: one occurrence of a timed series moved to an all-day slot in Google made the whole
    series unreadable (skipped). The series syncs; that one occurrence is held in Google (the CRM
    cannot hold an all-day occurrence of a timed activity), the notes say so, and later CRM edits
    of the series leave it all-day in Google."""
    w = World(emulator)
    master = insert(
        w,
        {"summary": "Ward round", "start": {"dateTime": "2026-10-19T09:00:00", "timeZone": "Europe/Berlin"},
         "end": {"dateTime": "2026-10-19T10:00:00", "timeZone": "Europe/Berlin"},
         "recurrence": ["RRULE:FREQ=DAILY;COUNT=5"]},
    )  # fmt: skip
    items = w.service.events().instances(calendarId="primary", eventId=master["id"]).execute()["items"]
    third = next(i for i in items if i["originalStartTime"]["dateTime"].startswith("2026-10-21"))
    w.service.events().patch(
        calendarId="primary", eventId=third["id"], body={"start": {"date": "2026-10-21"}, "end": {"date": "2026-10-22"}}
    ).execute()
    insert(w, {"summary": "Dentist", **{k: EXTRA_DATE_CANCELLED[k] for k in ("start", "end")}})
    report = w.sync()
    assert report.errors == [], report.errors
    assert any("2026-10-21" in n for n in report.notes), report.notes
    subjects = {a.subject: a for a in w.activities().values()}
    assert set(subjects) == {"Ward round", "Dentist"}
    series = subjects["Ward round"]
    assert series.recurrence is not None and series.recurrence.rrule.startswith("FREQ=DAILY")
    assert w.sync().writes == {}

    def held() -> dict[str, Any]:
        found = w.service.events().instances(calendarId="primary", eventId=master["id"]).execute()["items"]
        return next(i for i in found if (i.get("originalStartTime") or {}).get("dateTime", "").startswith("2026-10-21"))

    assert (held()["start"], held()["end"]) == ({"date": "2026-10-21"}, {"date": "2026-10-22"})
    w.crm.update("activities", series.id, {"subject": "Ward round (new)", "location": "B2"}, series.version)
    report = w.sync()
    assert report.errors == [], report.errors
    (google_master,) = (e for e in w.events() if e.get("recurrence"))
    assert (google_master["summary"], google_master.get("location")) == ("Ward round (new)", "B2")
    assert (held()["start"], held()["end"]) == ({"date": "2026-10-21"}, {"date": "2026-10-22"})  # not damaged
    assert w.sync().writes == {}
