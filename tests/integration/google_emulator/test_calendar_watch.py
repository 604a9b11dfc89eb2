"""Issue 16: Calendar push channels on the emulator, through the unmodified google-api-python-client:
events.watch and channels.stop as Google documents them, the sync message first, one message per
change with Google's headers, retries on failure, drops, expiry, and https-only addresses."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import pytest
import requests

from tests.support.push_receiver import PushReceiver, push_receiver

from .test_calendar_support import NOW, api_error, calendar_service, timed

pytestmark = pytest.mark.integration


def control(emulator: Any, body: dict[str, Any] | None = None) -> Any:
    url = f"{emulator.base_url}/__emulator/push"
    resp = requests.post(url, json=body, timeout=5) if body is not None else requests.get(url, timeout=5)
    resp.raise_for_status()
    return resp.json()


@pytest.fixture
def receiver() -> Iterator[PushReceiver]:
    with push_receiver() as got:
        yield got


@pytest.fixture
def svc(emulator: Any) -> Any:
    control(emulator, {"allow_http_loopback": True, "retry_seconds": 0.05})
    return calendar_service(emulator)


def _watch(svc: Any, receiver: PushReceiver, cid: str = "chan-1", **extra: Any) -> dict[str, Any]:
    body = {"id": cid, "type": "web_hook", "address": receiver.url, "token": "secret-token-1", **extra}
    reply: dict[str, Any] = svc.events().watch(calendarId="primary", body=body).execute()
    return reply


def _event(summary: str) -> dict[str, Any]:
    return timed("2026-12-03T14:00:00", "2026-12-03T15:00:00", "Europe/Berlin", summary=summary)


def test_watch_answers_a_channel_and_sends_the_sync_message_first(svc: Any, receiver: PushReceiver) -> None:
    reply = _watch(svc, receiver)
    assert reply["kind"] == "api#channel" and reply["id"] == "chan-1" and reply["token"] == "secret-token-1"
    assert reply["resourceId"] and "/calendar/v3/calendars/" in reply["resourceUri"]
    # No ttl: a week, in milliseconds as a string (int64 in the discovery document).
    assert int(reply["expiration"]) == int((NOW + timedelta(seconds=604800)).timestamp() * 1000)
    [sync] = receiver.wait_for(1)
    h = sync.headers
    assert (h["X-Goog-Resource-State"], h["X-Goog-Message-Number"]) == ("sync", "1")
    assert h["X-Goog-Channel-ID"] == "chan-1" and h["X-Goog-Channel-Token"] == "secret-token-1"
    assert (h["X-Goog-Resource-ID"], h["X-Goog-Resource-URI"]) == (reply["resourceId"], reply["resourceUri"])
    assert parsedate_to_datetime(h["X-Goog-Channel-Expiration"]) == NOW + timedelta(seconds=604800)
    assert sync.body == b""


def test_each_change_sends_exists_with_a_growing_message_number(svc: Any, receiver: PushReceiver) -> None:
    reply = _watch(svc, receiver)
    receiver.wait_for(1)
    created = svc.events().insert(calendarId="primary", body=_event("Board prep")).execute()
    receiver.wait_for(2)
    svc.events().patch(calendarId="primary", eventId=created["id"], body={"summary": "Board"}).execute()
    got = receiver.wait_for(3)
    assert [(r.headers["X-Goog-Resource-State"], r.headers["X-Goog-Message-Number"]) for r in got] == [
        ("sync", "1"),
        ("exists", "2"),
        ("exists", "3"),
    ]
    assert {r.headers["X-Goog-Resource-ID"] for r in got} == {reply["resourceId"]}
    # Another calendar of the same account is another resource: its changes are not announced here.
    other = svc.calendars().insert(body={"summary": "Other", "timeZone": "UTC"}).execute()
    svc.events().insert(calendarId=other["id"], body=_event("elsewhere")).execute()
    svc.events().insert(calendarId="primary", body=_event("here")).execute()
    got = receiver.wait_for(4)
    assert got[3].headers["X-Goog-Message-Number"] == "4"


def test_stop_needs_the_id_and_the_resource_id_and_ends_the_messages(svc: Any, receiver: PushReceiver) -> None:
    reply = _watch(svc, receiver)
    receiver.wait_for(1)
    status, reason, _, _ = api_error(
        lambda: svc.channels().stop(body={"id": "chan-1", "resourceId": "not-the-resource"}).execute()
    )
    assert (status, reason) == (404, "notFound")
    assert svc.channels().stop(body={"id": "chan-1", "resourceId": reply["resourceId"]}).execute() in ("", None, {})
    svc.events().insert(calendarId="primary", body=_event("after stop")).execute()
    assert api_error(lambda: svc.channels().stop(body={"id": "chan-1", "resourceId": reply["resourceId"]}).execute())[
        :2
    ] == (404, "notFound")
    # The id is free again once stopped.
    _watch(svc, receiver, "chan-1")
    got = receiver.wait_for(2)
    assert [r.headers["X-Goog-Resource-State"] for r in got] == ["sync", "sync"]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"type": "web_hook", "address": "https://example.com/n"}, "required"),
        ({"id": "x" * 65, "type": "web_hook", "address": "https://example.com/n"}, "invalid"),
        ({"id": "bad id", "type": "web_hook", "address": "https://example.com/n"}, "invalid"),
        ({"id": "c", "type": "email", "address": "https://example.com/n"}, "invalid"),
        ({"id": "c", "type": "web_hook"}, "required"),
        ({"id": "c", "type": "web_hook", "address": "http://example.com/n"}, "push.webhookUrlNotHttps"),
        ({"id": "c", "type": "web_hook", "address": "https://example.com/n", "token": "t" * 257}, "invalid"),
        ({"id": "c", "type": "web_hook", "address": "https://example.com/n", "params": {"ttl": "soon"}}, "invalid"),
        ({"id": "c", "type": "web_hook", "address": "https://example.com/n", "expiration": "1000"}, "invalid"),
    ],
)
def test_watch_refuses_what_google_refuses(svc: Any, body: dict[str, Any], reason: str) -> None:
    status, got, _, _ = api_error(lambda: svc.events().watch(calendarId="primary", body=body).execute())
    assert (status, got) == (400, reason)


def test_http_to_loopback_needs_the_setting_and_ids_are_unique(emulator: Any, svc: Any, receiver: PushReceiver) -> None:
    control(emulator, {"allow_http_loopback": False})
    assert api_error(lambda: _watch(svc, receiver))[:2] == (400, "push.webhookUrlNotHttps")
    control(emulator, {"allow_http_loopback": True})
    _watch(svc, receiver)
    assert api_error(lambda: _watch(svc, receiver))[:2] == (400, "channelIdNotUnique")


def test_ttl_expiration_and_the_cap(emulator: Any, svc: Any, receiver: PushReceiver) -> None:
    ms = lambda d: int((NOW + d).timestamp() * 1000)  # noqa: E731
    assert int(_watch(svc, receiver, "a", params={"ttl": "3600"})["expiration"]) == ms(timedelta(hours=1))
    asked = ms(timedelta(minutes=10))
    assert int(_watch(svc, receiver, "b", expiration=str(asked))["expiration"]) == asked
    capped = _watch(svc, receiver, "c", params={"ttl": str(400 * 86400)})
    assert int(capped["expiration"]) == ms(timedelta(days=30))


def test_an_expired_channel_sends_nothing_more(emulator: Any, svc: Any, receiver: PushReceiver) -> None:
    _watch(svc, receiver, params={"ttl": "60"})
    receiver.wait_for(1)
    emulator.state.clock.set(NOW + timedelta(seconds=61), frozen=True)
    svc.events().insert(calendarId="primary", body=_event("after expiry")).execute()
    _watch(svc, receiver, "probe")  # a later channel's sync message proves the delivery loop ran
    got = receiver.wait_for(2)
    assert [(r.headers["X-Goog-Channel-ID"], r.headers["X-Goog-Resource-State"]) for r in got] == [
        ("chan-1", "sync"),
        ("probe", "sync"),
    ]
    assert [c["id"] for c in control(emulator)["channels"]] == ["probe"]


def test_a_failed_delivery_is_retried_with_the_same_message_number(
    emulator: Any, svc: Any, receiver: PushReceiver
) -> None:
    receiver.statuses = [503, 500]
    _watch(svc, receiver)
    got = receiver.wait_for(3)
    assert [r.headers["X-Goog-Message-Number"] for r in got] == ["1", "1", "1"]
    # The emulator records an attempt once its reply is in, which may be just after the receiver has it.
    deadline = time.monotonic() + 10
    while True:
        deliveries = requests.get(f"{emulator.base_url}/__emulator/push/deliveries", timeout=5).json()["deliveries"]
        if len(deliveries) >= 3 or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert [(d["attempt"], d["status"]) for d in deliveries] == [(1, 503), (2, 500), (3, 200)]


def test_dropped_messages_never_arrive(emulator: Any, svc: Any, receiver: PushReceiver) -> None:
    _watch(svc, receiver)
    receiver.wait_for(1)
    control(emulator, {"drop_rate": 1.0})
    svc.events().insert(calendarId="primary", body=_event("lost")).execute()
    control(emulator, {"drop_rate": 0.0})
    _watch(svc, receiver, "probe")
    got = receiver.wait_for(2)
    assert [r.headers["X-Goog-Channel-ID"] for r in got] == ["chan-1", "probe"]
    deliveries = requests.get(f"{emulator.base_url}/__emulator/push/deliveries", timeout=5).json()["deliveries"]
    assert [(d["state"], d["status"]) for d in deliveries if d["channel_id"] == "chan-1"][-1] == ("exists", -1)


def test_a_deleted_calendar_sends_not_exists_and_ends_the_channel(
    emulator: Any, svc: Any, receiver: PushReceiver
) -> None:
    other = svc.calendars().insert(body={"summary": "Other", "timeZone": "UTC"}).execute()
    body = {"id": "chan-o", "type": "web_hook", "address": receiver.url}
    svc.events().watch(calendarId=other["id"], body=body).execute()
    receiver.wait_for(1)
    svc.calendars().delete(calendarId=other["id"]).execute()
    got = receiver.wait_for(2)
    assert got[1].headers["X-Goog-Resource-State"] == "not_exists"
    assert "X-Goog-Channel-Token" not in got[1].headers  # no token was set
    assert control(emulator)["channels"] == []


def test_push_settings_refuse_bad_input(emulator: Any) -> None:
    for body in ({"drop_rate": 2}, {"nonsense": 1}, {"allow_http_loopback": "yes"}):
        resp = requests.post(f"{emulator.base_url}/__emulator/push", json=body, timeout=5)
        assert resp.status_code == 400, body
