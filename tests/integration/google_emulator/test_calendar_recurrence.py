"""Calendar emulator: recurring series, DST, all-day ranges, exceptions and "this and following" splits."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from .test_calendar_support import api_error, calendar_service, list_all, timed

pytestmark = pytest.mark.integration

TRICKY = {
    a["key"]: a
    for a in json.loads((Path(__file__).parents[3] / "infra/crm/data/tricky_records.json").read_text())["activities"]
}


def _tricky(key: str) -> dict:
    return TRICKY[key]


def _series(rec: dict, **extra: object) -> dict:
    return timed(
        rec["start"],
        rec["end"],
        rec["tz"],
        **{"summary": rec["subject"], "recurrence": [f"RRULE:{rec['rrule']}"], **extra},
    )


@pytest.mark.parametrize("key", ["a01", "a02"])
def test_weekly_series_keeps_wall_clock_time_across_dst(emulator, key) -> None:
    rec = _tricky(key)
    svc = calendar_service(emulator)
    master = svc.events().insert(calendarId="primary", body=_series(rec)).execute()
    items = svc.events().instances(calendarId="primary", eventId=master["id"]).execute()["items"]
    count = int(rec["rrule"].rsplit("COUNT=", 1)[1])
    assert len(items) == count
    tz = ZoneInfo(rec["tz"])
    starts = [datetime.fromisoformat(i["start"]["dateTime"]) for i in items]
    assert {s.astimezone(tz).strftime("%H:%M") for s in starts} == {rec["start"][11:16]}
    assert len({s.utcoffset() for s in starts}) == 2, "the series must cross a DST change"
    for item, start in zip(items, starts, strict=True):
        assert item["id"] == f"{master['id']}_{start.astimezone(ZoneInfo('UTC')):%Y%m%dT%H%M%SZ}"
        assert item["recurringEventId"] == master["id"]
        assert item["originalStartTime"] == item["start"]
        assert datetime.fromisoformat(item["end"]["dateTime"]) - start == timedelta(
            minutes=(datetime.fromisoformat(rec["end"]) - datetime.fromisoformat(rec["start"])).seconds // 60
        )
    listed = svc.events().list(calendarId="primary", singleEvents=True, orderBy="startTime").execute()["items"]
    assert [i["id"] for i in listed] == [i["id"] for i in items]
    one = svc.events().get(calendarId="primary", eventId=items[2]["id"]).execute()
    assert one["start"] == items[2]["start"]


def test_all_day_multi_day_event_has_an_exclusive_end(emulator) -> None:
    rec = _tricky("a04")
    svc = calendar_service(emulator)
    end = (date.fromisoformat(rec["end_date_inclusive"]) + timedelta(days=1)).isoformat()
    ev = (
        svc.events()
        .insert(
            calendarId="primary",
            body={"summary": rec["subject"], "start": {"date": rec["start_date"]}, "end": {"date": end}},
        )
        .execute()
    )
    assert (ev["start"], ev["end"]) == ({"date": "2026-12-24"}, {"date": "2026-12-27"})

    def ids(**window: str) -> list[str]:
        return [i["id"] for i in svc.events().list(calendarId="primary", **window).execute()["items"]]

    assert ids(timeMin="2026-12-26T23:59:59Z") == [ev["id"]]
    assert ids(timeMin="2026-12-27T00:00:00Z") == []  # timeMin is exclusive on the (exclusive) end
    assert ids(timeMax="2026-12-24T00:00:00Z") == []  # timeMax is exclusive on the start
    assert ids(timeMax="2026-12-24T00:00:01Z") == [ev["id"]]


def test_leap_day_yearly_all_day_series(emulator) -> None:
    rec = _tricky("a06")
    svc = calendar_service(emulator)
    body = {
        "summary": rec["subject"],
        "start": {"date": "2028-02-29"},
        "end": {"date": "2028-03-01"},
        "recurrence": [f"RRULE:{rec['rrule']}"],
    }
    master = svc.events().insert(calendarId="primary", body=body).execute()
    items = (
        svc.events()
        .instances(calendarId="primary", eventId=master["id"], timeMax="2037-01-01T00:00:00Z")
        .execute()["items"]
    )
    assert [i["start"]["date"] for i in items] == ["2028-02-29", "2032-02-29", "2036-02-29"]
    assert items[1]["id"] == master["id"] + "_20320229"
    assert items[1]["originalStartTime"] == {"date": "2032-02-29"}


def test_exdate_moved_and_cancelled_instances(emulator) -> None:
    rec = _tricky("a03")
    svc = calendar_service(emulator)
    exdate = rec["exdates"][0].replace("-", "").replace(":", "")
    master = (
        svc.events()
        .insert(
            calendarId="primary",
            body=_series(rec, recurrence=[f"RRULE:{rec['rrule']}", f"EXDATE;TZID={rec['tz']}:{exdate}"]),
        )
        .execute()
    )
    sid = master["id"]
    items = svc.events().instances(calendarId="primary", eventId=sid).execute()["items"]
    assert len(items) == 7
    assert "2026-11-16" not in {i["start"]["dateTime"][:10] for i in items}
    moved_id = f"{sid}_20261123T150000Z"
    moved = rec["moved"][0]
    exc = (
        svc.events()
        .patch(calendarId="primary", eventId=moved_id, body=timed(moved["start"], moved["end"], rec["tz"]))
        .execute()
    )
    assert exc["id"] == moved_id
    assert exc["recurringEventId"] == sid
    assert exc["originalStartTime"] == {"dateTime": "2026-11-23T15:00:00Z", "timeZone": rec["tz"]}
    assert exc["summary"] == rec["subject"]
    svc.events().delete(calendarId="primary", eventId=f"{sid}_20261130T150000Z").execute()
    assert api_error(lambda: svc.events().delete(calendarId="primary", eventId=f"{sid}_20261130T150000Z").execute())[
        :2
    ] == (410, "deleted")
    assert (
        api_error(lambda: svc.events().get(calendarId="primary", eventId=f"{sid}_20261116T150000Z").execute())[0] == 404
    )

    after = svc.events().instances(calendarId="primary", eventId=sid).execute()["items"]
    starts = [i["start"]["dateTime"][:16] for i in after]
    assert starts == [
        "2026-11-02T15:00",
        "2026-11-09T15:00",
        "2026-11-24T10:00",
        "2026-12-07T15:00",
        "2026-12-14T15:00",
        "2026-12-21T15:00",
    ]
    single = svc.events().list(calendarId="primary", singleEvents=True, orderBy="startTime").execute()["items"]
    assert [i["id"] for i in single] == [i["id"] for i in after]
    with_deleted = svc.events().instances(calendarId="primary", eventId=sid, showDeleted=True).execute()["items"]
    assert {i["id"]: i["status"] for i in with_deleted}[f"{sid}_20261130T150000Z"] == "cancelled"

    plain = svc.events().list(calendarId="primary").execute()["items"]
    # Google's events.list (showDeleted): "Cancelled instances of recurring events (but not the underlying
    # recurring event) will still be included if showDeleted and singleEvents are both False."
    assert sorted(i["id"] for i in plain) == sorted([sid, moved_id, f"{sid}_20261130T150000Z"])
    by_id = {i["id"]: i for i in plain}
    assert by_id[sid]["recurrence"] == master["recurrence"]
    assert set(by_id[f"{sid}_20261130T150000Z"]) >= {"status", "recurringEventId", "originalStartTime"}
    shown = svc.events().list(calendarId="primary", showDeleted=True).execute()["items"]
    tomb = next(i for i in shown if i["id"] == f"{sid}_20261130T150000Z")
    assert tomb["status"] == "cancelled"
    assert tomb["recurringEventId"] == sid
    assert tomb["originalStartTime"]["dateTime"] == "2026-11-30T15:00:00Z"


def test_this_and_following_split_neither_duplicates_nor_drops(emulator) -> None:
    rec = _tricky("a09")
    svc = calendar_service(emulator)
    original = _series(rec, recurrence=["RRULE:FREQ=DAILY"])  # open-ended before the split
    master = svc.events().insert(calendarId="primary", body=original).execute()
    sid = master["id"]
    # An edited occurrence after the split point: the split must retire it.
    svc.events().patch(calendarId="primary", eventId=f"{sid}_20261205T070000Z", body={"summary": "edited"}).execute()
    _, token, _ = list_all(svc)
    # What Google clients do for "this and following": truncate with UNTIL, insert the new series.
    svc.events().patch(calendarId="primary", eventId=sid, body={"recurrence": [f"RRULE:{rec['rrule']}"]}).execute()
    follow = rec["followed_by"]
    new = (
        svc.events()
        .insert(
            calendarId="primary",
            body=timed(
                follow["start"],
                follow["end"],
                rec["tz"],
                summary=rec["subject"],
                recurrence=[f"RRULE:{follow['rrule']}"],
            ),
        )
        .execute()
    )

    items, _, _ = list_all(
        svc, singleEvents=True, orderBy="startTime", timeMin="2026-11-01T00:00:00Z", timeMax="2027-01-31T00:00:00Z"
    )
    days = Counter(i["start"]["dateTime"][:10] for i in items)
    assert max(days.values()) == 1, "an occurrence is duplicated"
    expected = [date(2026, 11, 3) + timedelta(days=n) for n in range(29 + 10)]
    assert sorted(days) == [d.isoformat() for d in expected], "an occurrence is dropped or extra"
    assert {i["recurringEventId"] for i in items} == {sid, new["id"]}
    assert all(i["start"]["dateTime"][11:16] == ("08:00" if i["recurringEventId"] == sid else "09:00") for i in items)

    changes = svc.events().list(calendarId="primary", syncToken=token).execute()["items"]
    by_id = {c["id"]: c for c in changes}
    assert by_id[f"{sid}_20261205T070000Z"]["status"] == "cancelled"
    assert by_id[sid]["recurrence"] == [f"RRULE:{rec['rrule']}"]
    assert new["id"] in by_id


def test_unbounded_series_is_capped_at_the_horizon(emulator) -> None:
    svc = calendar_service(emulator)
    emulator.state.extras["calendar_expansion_horizon_days"] = 30
    master = (
        svc.events()
        .insert(
            calendarId="primary",
            body=timed("2026-10-01T12:00:00", "2026-10-01T13:00:00", "UTC", recurrence=["RRULE:FREQ=DAILY"]),
        )
        .execute()
    )
    items, _, _ = list_all(svc, singleEvents=True)
    assert len(items) == 30  # clock frozen at 2026-10-01T08:00Z: Oct 1 .. Oct 30
    bounded = (
        svc.events()
        .instances(
            calendarId="primary", eventId=master["id"], timeMin="2027-01-01T00:00:00Z", timeMax="2027-01-08T00:00:00Z"
        )
        .execute()
    )
    assert len(bounded["items"]) == 7


def test_update_of_an_instance_and_sequence_rules(emulator) -> None:
    svc = calendar_service(emulator)
    master = (
        svc.events()
        .insert(
            calendarId="primary",
            body=timed(
                "2026-10-05T10:00:00",
                "2026-10-05T11:00:00",
                "Europe/Berlin",
                summary="S",
                recurrence=["RRULE:FREQ=WEEKLY;COUNT=3"],
            ),
        )
        .execute()
    )
    iid = f"{master['id']}_20261012T080000Z"
    inst = svc.events().get(calendarId="primary", eventId=iid).execute()
    assert inst["etag"] == master["etag"]
    replaced = (
        svc.events()
        .update(
            calendarId="primary",
            eventId=iid,
            body={**timed("2026-10-12T12:00:00", "2026-10-12T13:00:00", "Europe/Berlin"), "summary": "Moved"},
        )
        .execute()
    )
    assert replaced["recurringEventId"] == master["id"]
    assert replaced["originalStartTime"]["dateTime"] == "2026-10-12T10:00:00+02:00"
    assert replaced["sequence"] == 1
    status, _, message, _ = api_error(
        lambda: (
            svc.events().patch(calendarId="primary", eventId=iid, body={"recurrence": ["RRULE:FREQ=DAILY"]}).execute()
        )
    )
    assert status == 400
    assert "instance" in message
    assert (
        api_error(lambda: svc.events().patch(calendarId="primary", eventId=iid, body={"sequence": 0}).execute())[0]
        == 400
    )
    assert (
        api_error(lambda: svc.events().get(calendarId="primary", eventId=f"{master['id']}_20261013T080000Z").execute())[
            0
        ]
        == 404
    )
    svc.events().delete(calendarId="primary", eventId=master["id"]).execute()
    assert svc.events().list(calendarId="primary", singleEvents=True).execute()["items"] == []
    assert svc.events().get(calendarId="primary", eventId=iid).execute()["status"] == "cancelled"
