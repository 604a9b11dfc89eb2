"""Calendar emulator: events.move and events.import through the real client, seen by sync-token listings."""

from __future__ import annotations

from typing import Any

import pytest

from infra.google_emulator import calendar as cal_module
from infra.google_emulator.core import SCOPE_CALENDAR_RO

from .test_calendar_support import ME, api_error, calendar_service, timed

pytestmark = pytest.mark.integration

BERLIN = "Europe/Berlin"


def _sync_token(svc: Any, calendar_id: str, **params: Any) -> str:
    """Page through a full listing and return its sync token."""
    token = None
    while True:
        resp = svc.events().list(calendarId=calendar_id, pageToken=token, **params).execute()
        token = resp.get("nextPageToken")
        if token is None:
            return str(resp["nextSyncToken"])


def _changes(svc: Any, calendar_id: str, token: str, **params: Any) -> dict[str, dict[str, Any]]:
    """One sync-token page, by id (a listing never repeats an item)."""
    items = svc.events().list(calendarId=calendar_id, syncToken=token, **params).execute()["items"]
    assert len(items) == len({i["id"] for i in items}), "an item is listed twice"
    return {i["id"]: i for i in items}


def _secondary(svc: Any, summary: str = "CRM") -> str:
    return str(svc.calendars().insert(body={"summary": summary, "timeZone": BERLIN}).execute()["id"])


def test_move_leaves_the_source_as_a_deletion_and_arrives_new_in_the_destination(emulator) -> None:
    svc = calendar_service(emulator)
    crm = _secondary(svc)
    body = timed("2026-11-03T10:00:00", "2026-11-03T11:00:00", BERLIN, summary="Pitch")
    body["attendees"] = [{"email": ME}, {"email": "zoe@example.org"}]
    ev = svc.events().insert(calendarId="primary", body=body).execute()
    src_token, dst_token = _sync_token(svc, "primary"), _sync_token(svc, crm)

    moved = svc.events().move(calendarId="primary", eventId=ev["id"], destination=crm, sendUpdates="none").execute()
    assert (moved["id"], moved["iCalUID"], moved["summary"]) == (ev["id"], ev["iCalUID"], "Pitch")
    assert moved["organizer"] == {"email": crm, "displayName": "CRM", "self": True}
    assert moved["etag"] != ev["etag"]
    assert moved["created"] == ev["created"]
    assert [a.get("organizer", False) for a in moved["attendees"]] == [False, False]

    gone = _changes(svc, "primary", src_token)
    assert set(gone) == {ev["id"]}
    assert gone[ev["id"]]["status"] == "cancelled"
    arrived = _changes(svc, crm, dst_token)
    assert set(arrived) == {ev["id"]}
    assert arrived[ev["id"]]["status"] == "confirmed"
    assert arrived[ev["id"]]["summary"] == "Pitch"
    assert svc.events().list(calendarId="primary").execute()["items"] == []
    assert svc.events().get(calendarId=crm, eventId=ev["id"]).execute()["etag"] == moved["etag"]
    assert cal_module.dump(emulator.state.account(ME), emulator.state)["invitationEmailsSent"] == 0


def test_move_back_and_forth_reuses_the_id(emulator) -> None:
    svc = calendar_service(emulator)
    crm = _secondary(svc)
    ev = (
        svc.events()
        .insert(calendarId="primary", body=timed("2026-11-03T10:00:00", "2026-11-03T11:00:00", BERLIN, summary="Ping"))
        .execute()
    )
    svc.events().move(calendarId="primary", eventId=ev["id"], destination=crm).execute()
    back = svc.events().move(calendarId=crm, eventId=ev["id"], destination="primary").execute()
    assert back["organizer"] == {"email": ME, "self": True}
    assert [i["id"] for i in svc.events().list(calendarId="primary").execute()["items"]] == [ev["id"]]
    assert svc.events().list(calendarId=crm).execute()["items"] == []


def test_moving_a_series_brings_its_exceptions(emulator) -> None:
    svc = calendar_service(emulator)
    crm = _secondary(svc)
    series = (
        svc.events()
        .insert(
            calendarId="primary",
            body=timed(
                "2026-11-02T09:00:00",
                "2026-11-02T09:30:00",
                BERLIN,
                summary="Standup",
                recurrence=["RRULE:FREQ=DAILY;COUNT=5"],
            ),
        )
        .execute()
    )
    instances = svc.events().instances(calendarId="primary", eventId=series["id"]).execute()["items"]
    edited = svc.events().patch(calendarId="primary", eventId=instances[1]["id"], body={"summary": "Demo"}).execute()
    svc.events().delete(calendarId="primary", eventId=instances[3]["id"]).execute()
    src_token = _sync_token(svc, "primary", singleEvents=True)
    dst_token = _sync_token(svc, crm, singleEvents=True)

    moved = svc.events().move(calendarId="primary", eventId=series["id"], destination=crm).execute()
    assert moved["recurrence"] == ["RRULE:FREQ=DAILY;COUNT=5"]

    there = svc.events().list(calendarId=crm, singleEvents=True, orderBy="startTime").execute()["items"]
    assert [i["id"] for i in there] == [instances[i]["id"] for i in (0, 1, 2, 4)]
    assert [i["summary"] for i in there] == ["Standup", "Demo", "Standup", "Standup"]
    assert there[1]["etag"] != edited["etag"]
    assert all(i["organizer"]["email"] == crm for i in there)
    assert svc.events().list(calendarId="primary", singleEvents=True).execute()["items"] == []

    gone = _changes(svc, "primary", src_token, singleEvents=True)
    # The occurrence deleted before the token was reported then; the rest leave now.
    assert {instances[i]["id"] for i in (0, 1, 2, 4)} == set(gone)
    assert all(i["status"] == "cancelled" for i in gone.values())
    arrived = _changes(svc, crm, dst_token, singleEvents=True)
    live = {k for k, v in arrived.items() if v["status"] != "cancelled"}
    assert live == {instances[i]["id"] for i in (0, 1, 2, 4)}


def test_moving_an_instance_is_refused(emulator) -> None:
    svc = calendar_service(emulator)
    crm = _secondary(svc)
    series = (
        svc.events()
        .insert(
            calendarId="primary",
            body=timed(
                "2026-11-02T09:00:00",
                "2026-11-02T09:30:00",
                BERLIN,
                summary="Standup",
                recurrence=["RRULE:FREQ=DAILY;COUNT=3"],
            ),
        )
        .execute()
    )
    first, second, _ = svc.events().instances(calendarId="primary", eventId=series["id"]).execute()["items"]
    svc.events().patch(calendarId="primary", eventId=second["id"], body={"summary": "Edited"}).execute()
    for iid in (first["id"], second["id"]):  # an unmodified occurrence and a stored exception
        status, reason, message, _ = api_error(
            lambda iid=iid: svc.events().move(calendarId="primary", eventId=iid, destination=crm).execute()
        )
        assert (status, reason) == (400, "cannotChangeOrganizerOfInstance")
        assert "instance" in message
    assert svc.events().list(calendarId=crm).execute()["items"] == []


def test_move_errors_have_googles_shape(emulator) -> None:
    svc = calendar_service(emulator)
    crm = _secondary(svc)
    assert api_error(lambda: svc.events().move(calendarId="primary", eventId="nosuchevent", destination=crm).execute())[
        :2
    ] == (404, "notFound")
    ev = (
        svc.events()
        .insert(calendarId="primary", body=timed("2026-11-03T10:00:00", "2026-11-03T11:00:00", BERLIN, summary="x"))
        .execute()
    )
    unknown = "nope@group.calendar.google.com"
    assert api_error(lambda: svc.events().move(calendarId="primary", eventId=ev["id"], destination=unknown).execute())[
        :2
    ] == (404, "notFound")
    svc.events().insert(
        calendarId=crm, body={**timed("2026-11-04T10:00:00", "2026-11-04T11:00:00", BERLIN), "id": ev["id"]}
    ).execute()
    assert api_error(lambda: svc.events().move(calendarId="primary", eventId=ev["id"], destination=crm).execute())[
        :2
    ] == (409, "duplicate")
    svc.events().delete(calendarId="primary", eventId=ev["id"]).execute()
    assert api_error(lambda: svc.events().move(calendarId="primary", eventId=ev["id"], destination=crm).execute())[
        :2
    ] == (410, "deleted")


def test_move_import_and_quick_add_need_a_write_scope(emulator) -> None:
    svc = calendar_service(emulator)
    crm = _secondary(svc)
    ev = (
        svc.events()
        .insert(calendarId="primary", body=timed("2026-11-03T10:00:00", "2026-11-03T11:00:00", BERLIN, summary="x"))
        .execute()
    )
    ro = calendar_service(emulator, scopes=frozenset({SCOPE_CALENDAR_RO}))
    calls = [
        lambda: ro.events().move(calendarId="primary", eventId=ev["id"], destination=crm).execute(),
        lambda: (
            ro.events()
            .import_(
                calendarId="primary",
                body={**timed("2026-11-03T10:00:00", "2026-11-03T11:00:00", BERLIN), "iCalUID": "a@b"},
            )
            .execute()
        ),
        lambda: ro.events().quickAdd(calendarId="primary", text="Lunch tomorrow 12:30").execute(),
    ]
    for call in calls:
        assert api_error(call)[:2] == (403, "insufficientPermissions")
    assert [i["id"] for i in svc.events().list(calendarId="primary").execute()["items"]] == [ev["id"]]


def _imported(summary: str, **extra: Any) -> dict[str, Any]:
    return {
        **timed("2026-11-05T15:00:00", "2026-11-05T16:00:00", BERLIN, summary=summary),
        "iCalUID": "0042-partner-review@crm.example.net",
        "organizer": {"email": "boss@partner.example", "displayName": "The Boss"},
        "attendees": [{"email": "boss@partner.example"}, {"email": ME, "responseStatus": "accepted"}],
        **extra,
    }


def test_import_keeps_the_organizer_and_a_second_import_updates_the_copy(emulator) -> None:
    svc = calendar_service(emulator)
    token = _sync_token(svc, "primary")
    first = svc.events().import_(calendarId="primary", body=_imported("Partner review")).execute()
    assert first["iCalUID"] == "0042-partner-review@crm.example.net"
    assert first["organizer"] == {"email": "boss@partner.example", "displayName": "The Boss"}
    assert first["creator"] == {"email": ME, "self": True}
    assert first["attendees"][0]["organizer"] is True
    assert first["attendees"][1] == {"email": ME, "responseStatus": "accepted", "self": True}
    changed = _changes(svc, "primary", token)
    assert set(changed) == {first["id"]}

    token = _sync_token(svc, "primary")
    second = svc.events().import_(calendarId="primary", body=_imported("Partner review (moved)", sequence=1)).execute()
    assert second["id"] == first["id"]
    assert second["summary"] == "Partner review (moved)"
    assert second["sequence"] == 1
    assert second["etag"] != first["etag"]
    listed = svc.events().list(calendarId="primary", iCalUID="0042-partner-review@crm.example.net").execute()
    assert [i["id"] for i in listed["items"]] == [first["id"]]
    assert svc.events().list(calendarId="primary").execute()["items"] == [second]
    changed = _changes(svc, "primary", token)
    assert changed[first["id"]]["summary"] == "Partner review (moved)"
    assert cal_module.dump(emulator.state.account(ME), emulator.state)["invitationEmailsSent"] == 0


def test_import_revives_a_deleted_copy_and_requires_ical_uid(emulator) -> None:
    svc = calendar_service(emulator)
    first = svc.events().import_(calendarId="primary", body=_imported("Partner review")).execute()
    svc.events().delete(calendarId="primary", eventId=first["id"]).execute()
    again = svc.events().import_(calendarId="primary", body=_imported("Partner review")).execute()
    assert (again["id"], again["status"]) == (first["id"], "confirmed")
    assert api_error(lambda: svc.events().import_(calendarId="primary", body=_imported("x", iCalUID=None)).execute())[
        :2
    ] == (400, "required")
    own = (
        svc.events()
        .import_(calendarId="primary", body={**_imported("Mine", iCalUID="mine@x"), "organizer": None})
        .execute()
    )
    assert own["organizer"] == {"email": ME, "self": True}


def test_import_of_a_series_and_into_a_secondary_calendar(emulator) -> None:
    svc = calendar_service(emulator)
    crm = _secondary(svc)
    body = _imported("Weekly partner call", recurrence=["RRULE:FREQ=WEEKLY;COUNT=3"])
    ev = svc.events().import_(calendarId=crm, body=body).execute()
    items = svc.events().instances(calendarId=crm, eventId=ev["id"]).execute()["items"]
    assert len(items) == 3
    assert {i["iCalUID"] for i in items} == {body["iCalUID"]}
    assert svc.events().list(calendarId="primary").execute()["items"] == []


def test_seeded_events_move_like_inserted_ones(emulator) -> None:
    svc = calendar_service(emulator)
    cal_module.seed(
        emulator.state.account(ME),
        emulator.state,
        {"calendars": {"primary": [{**timed("2026-11-03T10:00:00", "2026-11-03T11:00:00", BERLIN), "id": "seeded01"}]}},
    )
    crm = _secondary(svc)
    assert svc.events().move(calendarId="primary", eventId="seeded01", destination=crm).execute()["id"] == "seeded01"


def test_a_changed_series_and_its_changed_exception_are_listed_once(emulator) -> None:
    svc = calendar_service(emulator)
    series = (
        svc.events()
        .insert(
            calendarId="primary",
            body=timed("2026-11-02T09:00:00", "2026-11-02T09:30:00", BERLIN, recurrence=["RRULE:FREQ=DAILY;COUNT=3"]),
        )
        .execute()
    )
    token = _sync_token(svc, "primary", singleEvents=True)
    second = svc.events().instances(calendarId="primary", eventId=series["id"]).execute()["items"][1]
    svc.events().patch(calendarId="primary", eventId=second["id"], body={"summary": "Edited"}).execute()
    svc.events().patch(calendarId="primary", eventId=series["id"], body={"description": "Agenda"}).execute()
    changed = _changes(svc, "primary", token, singleEvents=True)  # asserts no repeats
    assert len(changed) == 3
    assert changed[second["id"]]["summary"] == "Edited"
