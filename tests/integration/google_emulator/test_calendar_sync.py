"""Calendar emulator: events.list filters, paging and sync-token semantics."""

from __future__ import annotations

from datetime import timedelta

import pytest

from infra.google_emulator import calendar as cal_module
from tests.support.google import credentials, service

from .test_calendar_support import ME, api_error, calendar_service, list_all, timed

pytestmark = pytest.mark.integration


def _day(n: int, **extra: object) -> dict[str, object]:
    return timed(
        f"2026-11-{n:02d}T10:00:00",
        f"2026-11-{n:02d}T11:00:00",
        "Europe/Berlin",
        **{"summary": f"Meeting {n}", **extra},
    )


def _seed(emulator, count: int) -> None:
    cal_module.seed(
        emulator.state.account(ME), emulator.state, {"calendars": {"primary": [_day(1 + i % 28) for i in range(count)]}}
    )


def test_pages_then_sync_token_only_on_the_last_page(emulator) -> None:
    svc = calendar_service(emulator)
    _seed(emulator, 25)
    items, token, pages = list_all(svc, maxResults=10)
    assert pages == 3
    assert len({i["id"] for i in items}) == 25
    empty = svc.events().list(calendarId="primary", syncToken=token).execute()
    assert empty["items"] == []
    assert "nextSyncToken" in empty


def test_sync_returns_changes_with_tombstones(emulator) -> None:
    svc = calendar_service(emulator)
    _seed(emulator, 5)
    items, token, _ = list_all(svc)
    changed = svc.events().patch(calendarId="primary", eventId=items[0]["id"], body={"summary": "changed"}).execute()
    svc.events().delete(calendarId="primary", eventId=items[1]["id"]).execute()
    added = svc.events().insert(calendarId="primary", body=_day(9)).execute()
    resp = svc.events().list(calendarId="primary", syncToken=token).execute()
    by_id = {i["id"]: i for i in resp["items"]}
    assert set(by_id) == {changed["id"], items[1]["id"], added["id"]}
    assert by_id[changed["id"]]["summary"] == "changed"
    assert by_id[items[1]["id"]]["status"] == "cancelled"
    assert set(by_id[items[1]["id"]]) <= {"kind", "etag", "id", "status"}
    again = svc.events().list(calendarId="primary", syncToken=resp["nextSyncToken"]).execute()
    assert again["items"] == []
    full = svc.events().list(calendarId="primary").execute()["items"]
    assert items[1]["id"] not in {i["id"] for i in full}
    shown = svc.events().list(calendarId="primary", showDeleted=True).execute()["items"]
    assert items[1]["id"] in {i["id"] for i in shown}


def test_sync_token_paging_and_cancelled_instance(emulator) -> None:
    svc = calendar_service(emulator)
    master = svc.events().insert(calendarId="primary", body=_day(2, recurrence=["RRULE:FREQ=DAILY;COUNT=5"])).execute()
    _, token, _ = list_all(svc)
    svc.events().delete(calendarId="primary", eventId=f"{master['id']}_20261103T090000Z").execute()
    for n in range(5):
        svc.events().insert(calendarId="primary", body=_day(10 + n)).execute()
    seen, pages, page = [], 0, None
    while True:
        resp = svc.events().list(calendarId="primary", syncToken=token, maxResults=2, pageToken=page).execute()
        pages += 1
        seen += resp["items"]
        assert ("nextPageToken" in resp) != ("nextSyncToken" in resp)
        page = resp.get("nextPageToken")
        if page is None:
            break
    assert pages == 3
    assert len(seen) == 6
    tomb = seen[0]
    assert tomb["status"] == "cancelled"
    assert tomb["recurringEventId"] == master["id"]
    assert tomb["originalStartTime"]["dateTime"] == "2026-11-03T10:00:00+01:00"


def test_single_events_sync_sends_instances(emulator) -> None:
    svc = calendar_service(emulator)
    master = svc.events().insert(calendarId="primary", body=_day(2, recurrence=["RRULE:FREQ=DAILY;COUNT=3"])).execute()
    items, token, _ = list_all(svc, singleEvents=True)
    assert len(items) == 3
    svc.events().patch(calendarId="primary", eventId=master["id"], body={"summary": "renamed"}).execute()
    resp = svc.events().list(calendarId="primary", syncToken=token, singleEvents=True).execute()
    assert [i["summary"] for i in resp["items"]] == ["renamed"] * 3
    svc.events().delete(calendarId="primary", eventId=master["id"]).execute()
    gone = (
        svc.events().list(calendarId="primary", syncToken=resp["nextSyncToken"], singleEvents=True).execute()["items"]
    )
    assert {i["status"] for i in gone} == {"cancelled"}
    assert {i["id"] for i in gone} == {i["id"] for i in items}
    status, _, message, _ = api_error(lambda: svc.events().list(calendarId="primary", syncToken=token).execute())
    assert status == 400
    assert "singleEvents" in message


@pytest.mark.parametrize(
    ("param", "value"),
    [
        ("timeMin", "2026-01-01T00:00:00Z"),
        ("timeMax", "2027-01-01T00:00:00Z"),
        ("updatedMin", "2026-01-01T00:00:00Z"),
        ("q", "x"),
        ("iCalUID", "a@google.com"),
        ("privateExtendedProperty", "k=v"),
        ("sharedExtendedProperty", "k=v"),
        ("orderBy", "updated"),
    ],
)
def test_sync_token_forbids_filters(emulator, param, value) -> None:
    svc = calendar_service(emulator)
    _, token, _ = list_all(svc)
    status, reason, message, err = api_error(
        lambda: svc.events().list(calendarId="primary", syncToken=token, **{param: value}).execute()
    )
    assert (status, reason, err["location"]) == (400, "invalid", param)
    assert param in message


def test_expired_or_invalid_sync_token_is_410_full_sync_required(emulator) -> None:
    svc = calendar_service(emulator)
    _seed(emulator, 2)
    _, token, _ = list_all(svc)
    assert svc.events().list(calendarId="primary", syncToken=token).execute()["items"] == []
    cal_module.expire_sync_tokens(emulator.state.account(ME), emulator.state)
    status, reason, message, _ = api_error(lambda: svc.events().list(calendarId="primary", syncToken=token).execute())
    assert (status, reason, message) == (
        410,
        "fullSyncRequired",
        "Sync token is no longer valid, a full sync is required.",
    )
    assert api_error(lambda: svc.events().list(calendarId="primary", syncToken="garbage").execute())[:2] == (
        410,
        "fullSyncRequired",
    )
    _, fresh, _ = list_all(svc)
    emulator.state.clock.advance(timedelta(days=29))
    later = service("calendar", emulator.base_url, credentials(emulator.state, ME))  # the old access token expired
    later.events().list(calendarId="primary", syncToken=fresh).execute()
    emulator.state.clock.advance(timedelta(days=2))
    later = service("calendar", emulator.base_url, credentials(emulator.state, ME))
    assert api_error(lambda: later.events().list(calendarId="primary", syncToken=fresh).execute())[0] == 410


def test_list_filters(emulator) -> None:
    svc = calendar_service(emulator)
    a = (
        svc.events()
        .insert(
            calendarId="primary",
            body=_day(
                3, description="Quarterly review", extendedProperties={"private": {"crmId": "7"}, "shared": {"s": "1"}}
            ),
        )
        .execute()
    )
    b = svc.events().insert(calendarId="primary", body=_day(4, attendees=[{"email": "zoe@example.org"}])).execute()
    c = svc.events().insert(calendarId="primary", body=_day(5, iCalUID="crm-5@example.com")).execute()

    def ids(**params: object) -> list[str]:
        return [i["id"] for i in svc.events().list(calendarId="primary", **params).execute()["items"]]

    assert ids(q="quarterly REVIEW") == [a["id"]]
    assert ids(q="zoe@example.org") == [b["id"]]
    assert ids(privateExtendedProperty="crmId=7") == [a["id"]]
    assert ids(privateExtendedProperty=["crmId=7", "x=1"]) == []
    assert ids(sharedExtendedProperty="s=1") == [a["id"]]
    assert ids(iCalUID="crm-5@example.com") == [c["id"]]
    assert ids(timeMin="2026-11-04T09:59:00Z", timeMax="2026-11-05T09:00:00Z") == [b["id"]]  # b: 09:00-10:00Z
    assert ids(timeMin="2026-11-04T10:00:00Z", timeMax="2026-11-05T09:00:01Z") == [c["id"]]  # both bounds exclusive
    assert ids(orderBy="updated") == [a["id"], b["id"], c["id"]]
    emulator.state.clock.advance(timedelta(minutes=5))
    cutoff = "2026-10-01T08:04:00Z"
    svc.events().patch(calendarId="primary", eventId=a["id"], body={"summary": "touched"}).execute()
    svc.events().delete(calendarId="primary", eventId=c["id"]).execute()
    assert sorted(ids(updatedMin=cutoff)) == sorted([a["id"], c["id"]])  # deletions since updatedMin are included
    assert api_error(lambda: svc.events().list(calendarId="primary", orderBy="startTime").execute())[0] == 400
    assert api_error(lambda: svc.events().list(calendarId="primary", maxResults=2501).execute())[0] == 400
    status, _, _, err = api_error(
        lambda: svc.events().list(calendarId="primary", privateExtendedProperty="novalue").execute()
    )
    assert (status, err["location"]) == (400, "privateExtendedProperty")
    assert (
        api_error(
            lambda: (
                svc.events()
                .list(calendarId="primary", timeMin="2026-12-01T00:00:00Z", timeMax="2026-11-01T00:00:00Z")
                .execute()
            )
        )[0]
        == 400
    )


def test_page_token_from_another_query_is_rejected(emulator) -> None:
    svc = calendar_service(emulator)
    _seed(emulator, 3)
    page = svc.events().list(calendarId="primary", maxResults=1).execute()["nextPageToken"]
    status, _, _, err = api_error(
        lambda: svc.events().list(calendarId="primary", maxResults=1, pageToken=page, showDeleted=True).execute()
    )
    assert (status, err["location"]) == (400, "pageToken")


def test_large_calendar_one_page_and_sorted_paging(emulator) -> None:
    svc = calendar_service(emulator)
    _seed(emulator, 2600)
    first = svc.events().list(calendarId="primary", maxResults=2500).execute()
    assert len(first["items"]) == 2500
    assert "nextPageToken" in first
    items, _, pages = list_all(svc, singleEvents=True, orderBy="startTime", maxResults=1000)
    assert pages == 3
    assert len({i["id"] for i in items}) == 2600
    keys = [i["start"]["dateTime"] for i in items]
    assert keys == sorted(keys)
