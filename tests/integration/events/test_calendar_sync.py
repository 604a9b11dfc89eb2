"""Event sync end to end: the CRM fake, the engine and the Google emulator over real HTTP."""

from __future__ import annotations

from typing import Any

import pytest

from crmsync.model.event import EventOptions
from tests.integration.events.support import EMAIL, TRICKY, World, activity_body

pytestmark = pytest.mark.integration


def by_subject(events: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {e["summary"]: e for e in events if "recurringEventId" not in e}


def test_tricky_activities_reach_google_and_agree(emulator: Any) -> None:
    w = World(emulator)
    ids = {r["key"]: w.add(activity_body(r)) for r in TRICKY["activities"]}
    report = w.sync()
    assert report.complete
    assert report.writes == {"google.create": 7}
    assert report.notes == []  # a06 (first Feb 29 is in 2028) and a08 lie outside the 365-day window: not created
    events = by_subject(w.events())
    assert set(events) == {r["subject"] for r in TRICKY["activities"]} - {"Far future", "Leap review"}
    weekly = events["Weekly sync"]
    assert weekly["start"] == {"dateTime": "2026-10-19T09:00:00+02:00", "timeZone": "Europe/Berlin"}
    assert weekly["recurrence"] == ["RRULE:FREQ=WEEKLY;COUNT=6;BYDAY=MO"]
    assert events["Holidays"]["start"] == {"date": "2026-12-24"}
    assert events["Holidays"]["end"] == {"date": "2026-12-27"}
    assert events["Board prep"]["visibility"] == "private"
    assert {a["email"] for a in events["Board prep"]["attendees"]} >= {"zoe@example.org", "stranger@example.invalid"}
    assert w.invitations() == 0  # failure mode 3: no invitation e-mails unless the user opts in
    # Every linked pair agrees field by field.
    crm_now = w.engine().crm.get(list(ids.values()))
    for link in w.links.all_links(w.engine().kind):
        assert w.google.get([link.google_id])[link.google_id].canon == crm_now[link.crm_id].canon
    # Our own writes echo back once, then nothing.
    assert w.sync().writes == {}
    before = w.stats()
    quiet = w.sync()
    assert quiet.listed == {"google": 0, "crm": 0}
    assert quiet.writes == {}
    after = w.stats()
    assert sum(after.values()) - sum(before.values()) == 1  # a no-change sync is one Calendar request


def test_dst_weekly_series_keeps_wall_clock(emulator: Any) -> None:
    """Failure mode 8: every occurrence of a01/a02 stays at 09:00 local across the DST change."""
    w = World(emulator)
    for rec in TRICKY["activities"][:2]:
        w.add(activity_body(rec))
    w.sync()
    events = by_subject(w.events())
    for subject, zone_hour in (("Weekly sync", "09:00:00"), ("NY standup", "09:00:00")):
        inst = w.service.events().instances(calendarId="primary", eventId=events[subject]["id"]).execute()["items"]
        assert len(inst) in (6, 9)
        assert {i["start"]["dateTime"][11:19] for i in inst} == {zone_hour}
        assert len({i["start"]["dateTime"][19:] for i in inst}) == 2  # the UTC offset does change


def test_exdate_and_moved_occurrence_are_kept_as_a_series(emulator: Any) -> None:
    w = World(emulator)
    w.add(activity_body(TRICKY["activities"][2]))
    w.sync()
    [master] = [e for e in w.events() if "recurringEventId" not in e]
    assert master["recurrence"] == ["RRULE:FREQ=WEEKLY;COUNT=8", "EXDATE;TZID=Europe/London:20261116T150000"]
    inst = w.service.events().instances(calendarId="primary", eventId=master["id"]).execute()["items"]
    assert len(inst) == 7  # 8 minus the EXDATE, the moved one included once
    moved = [i for i in inst if i["start"]["dateTime"].startswith("2026-11-24T10:00")]
    assert len(moved) == 1
    assert moved[0]["originalStartTime"]["dateTime"].startswith("2026-11-23T15:00")


def test_invitations_only_when_the_user_opts_in(emulator: Any) -> None:
    rec = TRICKY["activities"][6]
    w = World(emulator, EventOptions(send_updates="all"))
    w.add(activity_body(rec))
    w.sync()
    assert w.invitations() == 3


def insert(w: World, body: dict[str, Any], cal: str = "primary") -> dict[str, Any]:
    return dict(w.service.events().insert(calendarId=cal, body=body, sendUpdates="none").execute())


def crm_by_subject(w: World) -> dict[str, Any]:
    return {a.subject: a for a in w.activities().values()}


def test_google_events_come_into_the_crm_unchanged(emulator: Any) -> None:
    """A DST-crossing weekly series and an all-day multi-day event round-trip unchanged."""
    w = World(emulator)
    insert(
        w,
        {
            "summary": "Weekly sync",
            "start": {"dateTime": "2026-10-19T09:00:00", "timeZone": "Europe/Berlin"},
            "end": {"dateTime": "2026-10-19T09:30:00", "timeZone": "Europe/Berlin"},
            "recurrence": ["RRULE:FREQ=WEEKLY;BYDAY=MO;COUNT=6"],
        },
    )
    insert(
        w,
        {
            "summary": "Holidays",
            "start": {"date": "2026-12-24"},
            "end": {"date": "2026-12-27"},
            "description": "<p>Office <b>closed</b></p>",
            "visibility": "private",
            "reminders": {"useDefault": False, "overrides": [{"method": "popup", "minutes": 60}]},
        },
    )
    report = w.sync()
    assert report.writes == {"crm.create": 2}
    assert report.complete
    crm = crm_by_subject(w)
    weekly, holidays = crm["Weekly sync"], crm["Holidays"]
    assert (weekly.start, weekly.end, weekly.time_zone) == (
        "2026-10-19T09:00:00",
        "2026-10-19T09:30:00",
        "Europe/Berlin",
    )
    assert weekly.recurrence is not None
    assert weekly.recurrence.rrule == "FREQ=WEEKLY;COUNT=6;BYDAY=MO"
    assert (holidays.all_day, holidays.start_date, holidays.end_date) == (True, "2026-12-24", "2026-12-26")
    assert holidays.private
    assert holidays.description == "Office closed"
    assert [(r.method, r.minutes_before) for r in holidays.reminders] == [("popup", 60)]
    assert w.sync().writes == {}  # the CRM creates echo back without a write
    assert w.sync().writes == {}
    before = {e["id"]: e["etag"] for e in w.events()}
    # Unchanged in Google: nothing was written back.
    assert {e["id"]: e["etag"] for e in w.events()} == before


def test_series_exceptions_and_split_both_ways(emulator: Any) -> None:
    """Failure mode 2: a cancelled and a moved occurrence and a "this and following" split
    made in Google reach the CRM as exceptions and a second series, with no occurrence duplicated or lost."""
    w = World(emulator)
    rec = TRICKY["activities"][8]  # a09: daily until Dec 1
    aid = w.add(activity_body(rec))
    w.sync()
    w.sync()
    [master] = [e for e in w.events() if "recurringEventId" not in e]
    events = w.service.events()
    events.delete(calendarId="primary", eventId=master["id"] + "_20261105T070000Z").execute()
    events.patch(
        calendarId="primary",
        eventId=master["id"] + "_20261106T070000Z",
        body={
            "start": {"dateTime": "2026-11-06T11:00:00", "timeZone": "Europe/Paris"},
            "end": {"dateTime": "2026-11-06T11:30:00", "timeZone": "Europe/Paris"},
        },
    ).execute()
    # "This and following" from Nov 20: the old series ends, a new one at 09:00 starts.
    events.patch(
        calendarId="primary", eventId=master["id"], body={"recurrence": ["RRULE:FREQ=DAILY;UNTIL=20261119T225959Z"]}
    ).execute()
    insert(
        w,
        {
            "summary": "Split series",
            "start": {"dateTime": "2026-11-20T09:00:00", "timeZone": "Europe/Paris"},
            "end": {"dateTime": "2026-11-20T09:30:00", "timeZone": "Europe/Paris"},
            "recurrence": ["RRULE:FREQ=DAILY;UNTIL=20261201T070000Z"],
        },
    )
    report = w.sync()
    assert report.complete
    assert report.writes == {"crm.update": 1, "crm.create": 1}
    old = w.crm.get("activities", aid)
    assert old.recurrence is not None
    assert old.recurrence.rrule == "FREQ=DAILY;UNTIL=20261119T225959Z"
    exc = {e.original_start: e for e in old.exceptions}
    assert old.recurrence.exdates == ["2026-11-05T08:00:00"]  # Google's cancelled instance: the CRM's EXDATE
    assert (exc["2026-11-06T08:00:00"].start, exc["2026-11-06T08:00:00"].end) == (
        "2026-11-06T11:00:00",
        "2026-11-06T11:30:00",
    )
    assert len(w.activities()) == 2
    assert w.sync().writes == {}
    # And back: a CRM-side cancellation of one more occurrence becomes an EXDATE in the same one PATCH.
    old = w.crm.get("activities", aid)
    excs = [e.model_dump() for e in old.exceptions] + [{"original_start": "2026-11-10T08:00:00", "cancelled": True}]
    w.crm.update("activities", aid, {"exceptions": excs}, old.version)
    assert w.sync().writes == {"google.update": 1}
    inst = events.instances(calendarId="primary", eventId=master["id"]).execute()["items"]
    starts = [i["start"]["dateTime"][:16] for i in inst]
    assert "2026-11-10T08:00" not in starts
    assert "2026-11-05T08:00" not in starts
    assert len(starts) == len(set(starts))
    assert len(starts) == 17 - 2  # Nov 3..19 minus two cancelled (the moved one counted once)
    assert events.get(calendarId="primary", eventId=master["id"]).execute()["recurrence"] == [
        "RRULE:FREQ=DAILY;UNTIL=20261119T225959Z",
        "EXDATE;TZID=Europe/Paris:20261105T080000",
        "EXDATE;TZID=Europe/Paris:20261110T080000",
    ]
    assert w.sync().writes == {}
    assert w.sync().writes == {}


def test_expired_sync_token_relists_without_duplicates(emulator: Any) -> None:
    w = World(emulator)
    for rec in TRICKY["activities"][:5]:
        w.add(activity_body(rec))
    w.sync()
    w.sync()
    from infra.google_emulator.calendar import expire_sync_tokens

    expire_sync_tokens(emulator.state.account(EMAIL), emulator.state)
    report = w.sync()
    assert report.full
    assert report.writes == {}
    assert report.complete
    assert len([e for e in w.events() if "recurringEventId" not in e]) == 5


def test_retried_create_links_the_existing_event(emulator: Any) -> None:
    """A create whose link was lost (crash after the insert) is linked: 409 or the CRM id, never a duplicate."""
    w = World(emulator)
    aid = w.add(activity_body(TRICKY["activities"][0]))
    crm = w.engine().crm
    from crmsync.ports import WriteOp

    canon = crm.get([aid])[aid].canon
    assert canon is not None
    op = WriteOp(aid, None, canon, canon, crm_id=aid)
    first = w.google.create([op])[0]
    again = w.google.create([op])[0]  # the 409 path
    assert first.ok
    assert again.ok
    assert again.id == first.id
    assert again.canon == canon
    report = w.sync()
    assert report.writes == {}
    assert report.complete
    assert len(w.events()) == 1
    assert w.links.count_links(w.engine().kind) == 1


def test_stale_etag_is_re_read_and_re_merged(emulator: Any) -> None:
    w = World(emulator)
    aid = w.add(activity_body(TRICKY["activities"][4]))
    w.sync()
    w.sync()
    [ev] = w.events()
    rec = w.crm.get("activities", aid)
    w.crm.update("activities", aid, {"location": "Room 1"}, rec.version)
    edited: list[str] = []

    def edit_in_google_before_apply(phase: str, done: int, total: int) -> None:
        # Google changes after the listing but before our PATCH: the If-Match fails with 412.
        if phase == "applying" and not edited:
            edited.append(phase)
            w.service.events().patch(calendarId="primary", eventId=ev["id"], body={"description": "agenda"}).execute()

    report = w.sync(progress=edit_in_google_before_apply)
    assert report.complete
    assert report.writes.get("google.update") == 1
    assert report.writes.get("crm.update") == 1
    [ev] = w.events()
    assert ev["location"] == "Room 1"
    assert ev["description"] == "agenda"
    assert w.crm.get("activities", aid).description == "agenda"


def test_many_attendees_under_the_per_user_quota(emulator: Any) -> None:
    """Failure mode 11: with Google's 600 calls/min per user enforced, a first sync of
    events with many attendees is paced across runs and never hits a rate limit."""
    emulator.state.extras["quota_limits"] = {"calendar": 600}
    w = World(emulator)
    w.pacer.per_minute = 600
    attendees = [{"email": f"guest{i}@example.org"} for i in range(25)]
    for i in range(700):
        w.add(
            {
                "subject": f"Meeting {i}",
                "owner_id": "u1",
                "start": "2026-11-02T10:00:00",
                "end": "2026-11-02T11:00:00",
                "time_zone": "Europe/Berlin",
                "attendees": attendees,
            }
        )
    runs = 0
    while True:
        runs += 1
        report = w.sync(budget=w.google.budget)
        if report.complete:
            break
        w.sleep(60)  # the continuation task runs a minute later
        assert runs < 10
    assert runs >= 2
    statuses = emulator.state.extras.get("status_counts", {}).get(EMAIL, {})
    limited = {m: s for m, s in statuses.items() if set(s) & {"403", "429"}}
    assert statuses
    assert not limited, limited
    assert len(w.events()) == 700
    assert w.invitations() == 0
