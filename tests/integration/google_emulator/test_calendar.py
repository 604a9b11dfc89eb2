"""Calendar v3 emulator: calendars, event CRUD, validation, auth and invitation accounting."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request

import httplib2
import pytest
from googleapiclient.discovery import build

from infra.google_emulator import calendar as cal_module
from infra.google_emulator.core import SCOPE_CALENDAR_EVENTS, SCOPE_CALENDAR_RO, SCOPE_CALENDARLIST_RO, ApiError

from .test_calendar_support import ME, api_error, calendar_service, timed

pytestmark = pytest.mark.integration

BERLIN = "Europe/Berlin"


def _event(**extra: object) -> dict[str, object]:
    return timed("2026-12-03T14:00:00", "2026-12-03T15:00:00", BERLIN, **{"summary": "Board prep", **extra})


def test_calendar_list_primary_new_calendar_and_paging(emulator) -> None:
    svc = calendar_service(emulator)
    created = [svc.calendars().insert(body={"summary": f"CRM {i}", "timeZone": BERLIN}).execute() for i in range(3)]
    assert all(c["id"].endswith("@group.calendar.google.com") for c in created)
    first = svc.calendarList().list(maxResults=2).execute()
    assert [e["id"] for e in first["items"]] == [ME, created[0]["id"]]
    assert first["items"][0]["primary"] is True
    assert first["items"][0]["accessRole"] == "owner"
    assert "nextSyncToken" not in first
    second = svc.calendarList().list(maxResults=2, pageToken=first["nextPageToken"]).execute()
    assert [e["id"] for e in second["items"]] == [c["id"] for c in created[1:]]
    assert "nextSyncToken" in second
    assert "nextPageToken" not in second
    assert svc.calendarList().get(calendarId="primary").execute()["id"] == ME
    assert svc.calendars().get(calendarId="primary").execute()["id"] == ME
    assert svc.calendars().get(calendarId=created[2]["id"]).execute()["timeZone"] == BERLIN
    status, _reason, _, err = api_error(lambda: svc.calendarList().list(maxResults=251).execute())
    assert (status, err["location"]) == (400, "maxResults")


def test_calendars_insert_requires_summary_and_valid_zone(emulator) -> None:
    svc = calendar_service(emulator)
    assert api_error(lambda: svc.calendars().insert(body={"timeZone": "UTC"}).execute())[:2] == (400, "required")
    status, _, message, _ = api_error(
        lambda: svc.calendars().insert(body={"summary": "x", "timeZone": "Mars/Olympus"}).execute()
    )
    assert status == 400
    assert "time zone" in message
    assert api_error(lambda: svc.calendars().get(calendarId="nope@group.calendar.google.com").execute())[:2] == (
        404,
        "notFound",
    )


def test_insert_and_get_return_a_full_event_resource(emulator) -> None:
    svc = calendar_service(emulator)
    body = _event(
        description="Agenda", location="Berlin", visibility="private",
        attendees=[{"email": ME}, {"email": "zoe@example.org", "optional": True}],
        extendedProperties={"private": {"crmId": "A-7"}},
    )  # fmt: skip
    ev = svc.events().insert(calendarId="primary", body=body, sendUpdates="none").execute()
    assert re.fullmatch(r"[a-v0-9]{26}", ev["id"])
    assert ev["iCalUID"] == ev["id"] + "@google.com"
    assert re.fullmatch(r'"\d+"', ev["etag"])
    assert ev["status"] == "confirmed"
    assert ev["sequence"] == 0
    assert ev["eventType"] == "default"
    assert ev["creator"] == {"email": ME, "self": True}
    assert ev["organizer"] == {"email": ME, "self": True}
    assert ev["start"] == {"dateTime": "2026-12-03T14:00:00+01:00", "timeZone": BERLIN}
    assert ev["attendees"][0] == {"email": ME, "responseStatus": "needsAction", "organizer": True, "self": True}
    assert ev["attendees"][1] == {"email": "zoe@example.org", "optional": True, "responseStatus": "needsAction"}
    assert ev["reminders"] == {"useDefault": True}
    assert ev["htmlLink"].startswith("https://www.google.com/calendar/event?eid=")
    assert svc.events().get(calendarId=ME, eventId=ev["id"]).execute() == ev
    only_offset = (
        svc.events()
        .insert(
            calendarId="primary",
            body={"start": {"dateTime": "2026-12-03T13:00:00Z"}, "end": {"dateTime": "2026-12-03T14:00:00Z"}},
        )
        .execute()
    )
    assert only_offset["start"] == {"dateTime": "2026-12-03T13:00:00Z"}


def test_client_chosen_id_duplicate_is_409_even_after_delete(emulator) -> None:
    svc = calendar_service(emulator)
    ev = svc.events().insert(calendarId="primary", body=_event(id="crm0a7b3")).execute()
    assert ev["id"] == "crm0a7b3"
    assert api_error(lambda: svc.events().insert(calendarId="primary", body=_event(id="crm0a7b3")).execute())[:2] == (
        409,
        "duplicate",
    )
    svc.events().delete(calendarId="primary", eventId="crm0a7b3").execute()
    assert api_error(lambda: svc.events().insert(calendarId="primary", body=_event(id="crm0a7b3")).execute())[:2] == (
        409,
        "duplicate",
    )
    for bad in ("CRM0A7B3", "abcw1", "ab12", "crm-0a7b3"):
        status, reason, message, _ = api_error(
            lambda bad=bad: svc.events().insert(calendarId="primary", body=_event(id=bad)).execute()
        )
        assert (status, reason) == (400, "invalid")
        assert "a-v and 0-9" in message


def test_a_null_extended_property_in_a_patch_deletes_it_even_where_none_was_set(emulator) -> None:
    """Google's extended-properties guide: "make a patch request to set the value to null"."""
    svc = calendar_service(emulator)
    plain = svc.events().insert(calendarId="primary", body=_event()).execute()
    body = {"extendedProperties": {"private": {"gone": None}, "shared": {"kept": "1"}}}
    patched = svc.events().patch(calendarId="primary", eventId=plain["id"], body=body).execute()
    assert patched["extendedProperties"] == {"private": {}, "shared": {"kept": "1"}} or patched[
        "extendedProperties"
    ] == {"shared": {"kept": "1"}}
    body = {"extendedProperties": {"shared": {"kept": None}}}
    cleared = svc.events().patch(calendarId="primary", eventId=plain["id"], body=body).execute()
    assert not (cleared.get("extendedProperties") or {}).get("shared")


def test_patch_merges_update_replaces_and_etag_changes(emulator) -> None:
    svc = calendar_service(emulator)
    ev = (
        svc.events()
        .insert(calendarId="primary", body=_event(description="keep", extendedProperties={"private": {"a": "1"}}))
        .execute()
    )
    patched = (
        svc.events()
        .patch(
            calendarId="primary",
            eventId=ev["id"],
            body={"summary": "New", "extendedProperties": {"private": {"b": "2"}}},
        )
        .execute()
    )
    assert patched["summary"] == "New"
    assert patched["description"] == "keep"
    assert patched["extendedProperties"]["private"] == {"a": "1", "b": "2"}
    assert patched["etag"] != ev["etag"]
    assert patched["sequence"] == 0
    moved = (
        svc.events()
        .patch(calendarId="primary", eventId=ev["id"], body={"start": {"dateTime": "2026-12-03T13:00:00+01:00"}})
        .execute()
    )
    assert moved["sequence"] == 1
    assert moved["start"] == {"dateTime": "2026-12-03T12:00:00Z"}
    updated = svc.events().update(calendarId="primary", eventId=ev["id"], body=_event(summary="Replaced")).execute()
    assert updated["summary"] == "Replaced"
    assert "description" not in updated
    assert "extendedProperties" not in updated
    assert updated["id"] == ev["id"]
    assert updated["created"] == ev["created"]
    assert len({ev["etag"], patched["etag"], moved["etag"], updated["etag"]}) == 4
    assert (
        api_error(
            lambda: svc.events().update(calendarId="primary", eventId=ev["id"], body={"summary": "no times"}).execute()
        )[0]
        == 400
    )


def test_if_match_mismatch_is_412(emulator) -> None:
    svc = calendar_service(emulator)
    ev = svc.events().insert(calendarId="primary", body=_event()).execute()
    req = svc.events().patch(calendarId="primary", eventId=ev["id"], body={"summary": "v2"})
    req.headers["If-Match"] = ev["etag"]
    v2 = req.execute()
    for method in ("patch", "update", "delete"):
        args = {"calendarId": "primary", "eventId": ev["id"]}
        if method != "delete":
            args["body"] = _event(summary="stale")
        stale = getattr(svc.events(), method)(**args)
        stale.headers["If-Match"] = ev["etag"]
        assert api_error(stale.execute)[:2] == (412, "conditionNotMet")
    fresh = svc.events().delete(calendarId="primary", eventId=ev["id"])
    fresh.headers["If-Match"] = v2["etag"]
    fresh.execute()


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (timed("2026-12-03T15:00:00", "2026-12-03T14:00:00", BERLIN), "time range is empty"),
        ({"start": {"dateTime": "2026-12-03T15:00:00Z"}}, "Missing end time"),
        ({"end": {"dateTime": "2026-12-03T15:00:00Z"}}, "Missing start time"),
        (timed("2026-12-03T14:00:00", "2026-12-03T15:00:00", "Europe/Berlln"), "Invalid time zone"),
        (
            {"start": {"dateTime": "2026-12-03T14:00:00"}, "end": {"dateTime": "2026-12-03T15:00:00"}},
            "Missing time zone definition",
        ),
        ({"start": {"date": "2026-12-24"}, "end": {"dateTime": "2026-12-25T00:00:00Z"}}, "both be all-day"),
        ({"start": {"date": "2026-12-24"}, "end": {"date": "2026-12-24"}}, "time range is empty"),
        (
            {
                "start": {"dateTime": "2026-12-03T14:00:00Z"},
                "end": {"dateTime": "2026-12-03T15:00:00Z"},
                "recurrence": ["RRULE:FREQ=DAILY"],
            },
            "needs start.timeZone",
        ),
        (_event(recurrence=["RRULE:FREQ=SOMETIMES"]), "Invalid recurrence rule"),
        (_event(recurrence=["EXDATE:20261210T140000Z"]), "needs an RRULE or RDATE"),
        (_event(recurrence=["DTSTART:20261203T140000Z"]), "expected RRULE"),
        (_event(status="maybe"), "Invalid value for status"),
        (_event(attendees=[{"displayName": "no mail"}]), "attendee email"),
    ],
)
def test_invalid_events_are_rejected_with_a_clear_400(emulator, body, fragment) -> None:
    svc = calendar_service(emulator)
    status, _, message, _ = api_error(lambda: svc.events().insert(calendarId="primary", body=body).execute())
    assert status == 400
    assert fragment in message


def test_delete_twice_is_410_and_unknown_is_404(emulator) -> None:
    svc = calendar_service(emulator)
    ev = svc.events().insert(calendarId="primary", body=_event()).execute()
    assert svc.events().delete(calendarId="primary", eventId=ev["id"]).execute() == ""
    assert svc.events().get(calendarId="primary", eventId=ev["id"]).execute()["status"] == "cancelled"
    assert api_error(lambda: svc.events().delete(calendarId="primary", eventId=ev["id"]).execute())[:2] == (
        410,
        "deleted",
    )
    assert api_error(lambda: svc.events().delete(calendarId="primary", eventId="unknown123").execute())[:2] == (
        404,
        "notFound",
    )
    assert api_error(lambda: svc.events().get(calendarId="primary", eventId="unknown123").execute())[:2] == (
        404,
        "notFound",
    )
    assert api_error(lambda: svc.events().list(calendarId="nobody@group.calendar.google.com").execute())[:2] == (
        404,
        "notFound",
    )


def test_missing_token_is_401_and_missing_scope_is_403(emulator) -> None:
    anonymous = build(
        "calendar", "v3", http=httplib2.Http(), static_discovery=True, cache_discovery=False,
        client_options={"api_endpoint": emulator.base_url + "/calendar/v3/"},
    )  # fmt: skip
    assert api_error(lambda: anonymous.events().list(calendarId="primary").execute())[:2] == (401, "authError")
    readonly = calendar_service(emulator, scopes=frozenset({SCOPE_CALENDAR_RO}))
    readonly.events().list(calendarId="primary").execute()
    readonly.calendarList().list().execute()
    assert api_error(lambda: readonly.events().insert(calendarId="primary", body=_event()).execute())[:2] == (
        403,
        "insufficientPermissions",
    )
    assert api_error(lambda: readonly.calendars().insert(body={"summary": "x"}).execute())[0] == 403
    events_only = calendar_service(emulator, scopes=frozenset({SCOPE_CALENDAR_EVENTS}))
    events_only.events().insert(calendarId="primary", body=_event()).execute()
    assert api_error(lambda: events_only.calendarList().list().execute())[0] == 403
    list_only = calendar_service(emulator, scopes=frozenset({SCOPE_CALENDARLIST_RO}))
    assert list_only.calendarList().list().execute()["items"][0]["id"] == ME
    assert api_error(lambda: list_only.events().list(calendarId="primary").execute())[0] == 403


def test_accounts_are_isolated(emulator) -> None:
    anna = calendar_service(emulator)
    ben = calendar_service(emulator, "ben@example.com")
    ev = anna.events().insert(calendarId="primary", body=_event()).execute()
    assert ben.events().list(calendarId="primary").execute()["items"] == []
    assert api_error(lambda: ben.events().get(calendarId="primary", eventId=ev["id"]).execute())[0] == 404


def test_send_updates_counts_would_be_invitation_emails(emulator) -> None:
    svc = calendar_service(emulator)
    guests = [
        {"email": ME},
        {"email": "anna.schmidt@example.com"},
        {"email": "zoe@example.org"},
        {"email": "stranger@example.invalid"},
    ]
    quiet = svc.events().insert(calendarId="primary", body=_event(attendees=guests), sendUpdates="none").execute()
    svc.events().patch(calendarId="primary", eventId=quiet["id"], body={"summary": "x"}).execute()
    svc.events().delete(calendarId="primary", eventId=quiet["id"], sendUpdates="none").execute()
    account = emulator.state.account(ME)
    assert cal_module.dump(account, emulator.state)["invitationEmailsSent"] == 0
    loud = svc.events().insert(calendarId="primary", body=_event(attendees=guests), sendUpdates="all").execute()
    svc.events().patch(
        calendarId="primary", eventId=loud["id"], body={"summary": "y"}, sendUpdates="externalOnly"
    ).execute()
    svc.events().delete(calendarId="primary", eventId=loud["id"], sendUpdates="all").execute()
    dumped = cal_module.dump(account, emulator.state)
    assert dumped["invitationEmailsSent"] == 9  # three guests (never the organizer) x insert, patch, delete
    assert [e["method"] for e in dumped["invitationLog"]] == ["insert", "patch", "delete"]
    token = emulator.state.mint_access_token(ME, frozenset({SCOPE_CALENDAR_EVENTS})).token
    req = urllib.request.Request(
        emulator.base_url + "/calendar/v3/calendars/primary/events?sendUpdates=everyone", data=json.dumps(_event()).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"}, method="POST",
    )  # fmt: skip
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(req)
    assert info.value.code == 400
    assert json.loads(info.value.read())["error"]["errors"][0]["location"] == "sendUpdates"


def test_seed_and_dump_round_trip(emulator) -> None:
    account = emulator.state.account(ME)
    series = timed(
        "2026-11-02T15:00:00",
        "2026-11-02T15:30:00",
        "Europe/London",
        id="series01",
        summary="1:1",
        recurrence=["RRULE:FREQ=WEEKLY;COUNT=8"],
    )
    moved = {
        **timed("2026-11-24T10:00:00", "2026-11-24T10:30:00", "Europe/London"), "id": "series01_20261123T150000Z",
        "recurringEventId": "series01", "originalStartTime": {"dateTime": "2026-11-23T15:00:00Z", "timeZone": "Europe/London"},
    }  # fmt: skip
    data = {"calendars": {"primary": [moved, series], "CRM": [_event(summary="In CRM calendar")]}}
    assert cal_module.seed(account, emulator.state, data) == {"calendars": {"primary": 2, "CRM": 1}}
    dumped = cal_module.dump(account, emulator.state)
    assert [e["id"] for e in dumped["calendars"]["primary"]] == ["series01", "series01_20261123T150000Z"]
    assert dumped["calendars"]["CRM"][0]["summary"] == "In CRM calendar"
    assert dumped["invitationEmailsSent"] == 0
    svc = calendar_service(emulator)
    instances = svc.events().instances(calendarId="primary", eventId="series01").execute()["items"]
    assert len(instances) == 8
    assert instances[3]["start"]["dateTime"] == "2026-11-24T10:00:00Z"
    assert [c["summary"] for c in svc.calendarList().list().execute()["items"]] == [ME, "CRM"]


def test_seed_rejects_bad_events_with_a_clear_message(emulator) -> None:
    account = emulator.state.account(ME)
    with pytest.raises(ApiError, match="'no times' in 'primary': Missing start time"):
        cal_module.seed(account, emulator.state, {"calendars": {"primary": [{"summary": "no times"}]}})
    with pytest.raises(ApiError, match="must be a list of Event objects"):
        cal_module.seed(account, emulator.state, {"calendars": {"primary": {"summary": "not a list"}}})
