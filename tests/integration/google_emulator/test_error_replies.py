"""The emulator's error replies are Google's (issue 14 §6), checked through the unmodified Google
client libraries (googleapiclient raises ``HttpError`` with the body as Google sends it), and each
is handled as crmsync's taxonomy says.

Pages followed: Calendar "Handle API errors" (developers.google.com/workspace/calendar/api/guides/errors:
403 dailyLimitExceeded/userRateLimitExceeded/rateLimitExceeded/quotaExceeded in domain usageLimits,
429 rateLimitExceeded, 410 fullSyncRequired/updatedMinTooLongAgo in domain calendar, 400 timeRangeEmpty,
409 conflict); Calendar events.list (syncToken: "it is not allowed to set showDeleted to False");
google.rpc.ErrorInfo (RATE_LIMIT_EXCEEDED with quota_metric/quota_limit metadata, SERVICE_DISABLED)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from googleapiclient.errors import HttpError

from crmsync.errors import ConnectionError_, OperatorError
from crmsync.google.batch import BatchRunner, Call
from crmsync.google.errors import QuotaExceeded, SyncTokenExpired, Transient, map_error
from crmsync.google.pacing import Pacer
from crmsync.google.taxonomy import QuotaPeriod, QuotaScope
from crmsync.ports import OpCounter
from infra.google_emulator.controls import FAULT_KINDS
from infra.google_emulator.faults import FAULT_REPLIES
from infra.google_emulator.server import EmulatorServer
from tests.support.google import credentials, service

pytestmark = pytest.mark.integration
ANA = "ana@example.com"


def faults(base: str, body: dict[str, Any]) -> dict[str, Any]:
    resp = requests.post(f"{base}/__emulator/faults", json=body, timeout=5)
    assert resp.status_code == 200, resp.text
    return dict(resp.json())


def calls(emulator: EmulatorServer) -> dict[str, Any]:
    """One cheap read per API through the Google client libraries."""
    creds = credentials(emulator.state, ANA)
    people = service("people", emulator.base_url, creds)
    calendar = service("calendar", emulator.base_url, creds)
    tasks = service("tasks", emulator.base_url, creds)
    return {
        "people": (
            "people.people.connections.list",
            lambda: people.people().connections().list(resourceName="people/me", personFields="names").execute(),
        ),
        "calendar": ("calendar.events.list", lambda: calendar.events().list(calendarId="primary").execute()),
        "tasks": ("tasks.tasklists.list", lambda: tasks.tasklists().list().execute()),
    }


def refused(call: Any) -> tuple[HttpError, dict[str, Any]]:
    with pytest.raises(HttpError) as info:
        call()
    return info.value, json.loads(info.value.content)["error"]


@pytest.mark.parametrize(
    ("name", "code", "reason"),
    [
        ("rate_limit_403", 403, "rateLimitExceeded"),
        ("user_rate_limit_403", 403, "userRateLimitExceeded"),
        ("quota_exceeded_403", 403, "quotaExceeded"),
        ("daily_limit", 403, "dailyLimitExceeded"),
        ("429", 429, "rateLimitExceeded"),
    ],
)
def test_calendar_quota_replies_are_googles_and_never_ask_to_reconnect(
    emulator: EmulatorServer, name: str, code: int, reason: str
) -> None:
    method, call = calls(emulator)["calendar"]
    faults(emulator.base_url, {"method": method, "sequence": [name]})
    err, body = refused(call)
    assert err.resp.status == code
    assert body["errors"] == [{"domain": "usageLimits", "reason": reason, "message": body["message"]}]
    assert "status" not in body  # Calendar's legacy shape
    mapped = map_error(err)
    assert isinstance(mapped, QuotaExceeded)
    assert not isinstance(mapped, ConnectionError_)
    if name == "quota_exceeded_403":
        assert body["message"] == "Calendar usage limits exceeded."
    if name == "daily_limit":
        assert (mapped.scope, mapped.period) == (QuotaScope.PROJECT, QuotaPeriod.DAY)
    call()  # the sequence is used up: the next call succeeds


@pytest.mark.parametrize("api", ["people", "tasks"])
def test_people_and_tasks_quota_is_429_resource_exhausted_with_the_quota_errorinfo(
    emulator: EmulatorServer, api: str
) -> None:
    method, call = calls(emulator)[api]
    faults(emulator.base_url, {"method": method, "sequence": ["429", "daily_limit"]})
    err, body = refused(call)
    assert (err.resp.status, body["status"]) == (429, "RESOURCE_EXHAUSTED")
    [info] = body["details"]
    assert info["@type"] == "type.googleapis.com/google.rpc.ErrorInfo"
    assert (info["reason"], info["domain"]) == ("RATE_LIMIT_EXCEEDED", "googleapis.com")
    assert info["metadata"]["service"] == f"{api}.googleapis.com"
    assert "per minute per user" in body["message"]
    per_minute = map_error(err)
    assert isinstance(per_minute, QuotaExceeded)
    assert (per_minute.scope, per_minute.period) == (QuotaScope.USER, QuotaPeriod.MINUTE)
    err, body = refused(call)
    assert body["details"][0]["metadata"]["quota_limit"] == "defaultPerDayPerProject"
    daily = map_error(err)
    assert isinstance(daily, QuotaExceeded)
    assert (daily.scope, daily.period) == (QuotaScope.PROJECT, QuotaPeriod.DAY)
    if api == "tasks":
        assert body["errors"][0]["domain"] == "usageLimits"  # Tasks also carries the legacy errors[]


@pytest.mark.parametrize("api", ["people", "calendar", "tasks"])
def test_an_api_not_enabled_is_the_operators_problem(emulator: EmulatorServer, api: str) -> None:
    method, call = calls(emulator)[api]
    faults(emulator.base_url, {"method": method, "sequence": ["api_disabled"]})
    err, body = refused(call)
    assert err.resp.status == 403
    assert "has not been used in project" in body["message"]
    mapped = map_error(err)
    assert isinstance(mapped, OperatorError)
    assert mapped.alert == "google.api_not_enabled"
    if api == "people":
        assert body["status"] == "PERMISSION_DENIED"
        assert body["details"][0]["reason"] == "SERVICE_DISABLED"


def test_every_named_fault_is_a_reply_the_taxonomy_classifies(emulator: EmulatorServer) -> None:
    assert set(FAULT_REPLIES) <= set(FAULT_KINDS)
    for method, call in calls(emulator).values():
        for name in FAULT_REPLIES:
            faults(emulator.base_url, {"clear": True, "method": method, "sequence": [name]})
            err, body = refused(call)
            assert body["code"] == err.resp.status and body["message"]
            map_error(err)  # never raises, never an unknown shape


def test_faults_follow_a_schedule_on_the_emulator_clock(emulator: EmulatorServer) -> None:
    base = emulator.base_url
    method, call = calls(emulator)["tasks"]
    now = datetime.fromisoformat(requests.get(f"{base}/__emulator/clock", timeout=5).json()["now"])
    start, end = now + timedelta(minutes=10), now + timedelta(minutes=20)
    shown = faults(
        base,
        {
            "method": method,
            "probability": 1,
            "errors": ["daily_limit"],
            "from": start.isoformat(),
            "until": end.isoformat(),
        },
    )
    assert shown["faults"][method]["from"].startswith(start.astimezone(UTC).strftime("%Y-%m-%dT%H:%M"))
    call()  # before the window
    requests.post(f"{base}/__emulator/clock", json={"advance_seconds": 600}, timeout=5)
    assert refused(call)[0].resp.status == 429
    requests.post(f"{base}/__emulator/clock", json={"advance_seconds": 600}, timeout=5)
    call()  # after it


def test_calendar_sync_replies(emulator: EmulatorServer) -> None:
    creds = credentials(emulator.state, ANA)
    events = service("calendar", emulator.base_url, creds).events()
    token = events.list(calendarId="primary", showDeleted=True).execute()["nextSyncToken"]
    # syncToken with showDeleted=false is refused as events.list documents
    err, body = refused(lambda: events.list(calendarId="primary", syncToken=token, showDeleted=False).execute())
    assert (err.resp.status, body["errors"][0]["location"]) == (400, "showDeleted")
    events.list(calendarId="primary", syncToken=token).execute()  # showDeleted left out: fine
    # updatedMin too far back: 410 updatedMinTooLongAgo in domain calendar, a full sync is required
    old = (datetime.now(UTC) - timedelta(days=400)).strftime("%Y-%m-%dT%H:%M:%SZ")
    err, body = refused(lambda: events.list(calendarId="primary", updatedMin=old).execute())
    assert err.resp.status == 410
    assert body["errors"][0] == {
        "domain": "calendar",
        "reason": "updatedMinTooLongAgo",
        "message": "The requested minimum modification time lies too far in the past.",
        "locationType": "parameter",
        "location": "updatedMin",
    }
    assert isinstance(map_error(err), SyncTokenExpired)
    # an empty time range: 400 timeRangeEmpty in domain calendar
    err, body = refused(
        lambda: events.list(
            calendarId="primary", timeMin="2026-01-02T00:00:00Z", timeMax="2026-01-01T00:00:00Z"
        ).execute()
    )
    assert (body["errors"][0]["domain"], body["errors"][0]["reason"]) == ("calendar", "timeRangeEmpty")
    assert body["message"] == "The specified time range is empty."
    # a batch conflict is retried, not taken for a duplicate
    method, call = calls(emulator)["calendar"]
    faults(emulator.base_url, {"method": method, "sequence": ["conflict_409"]})
    assert isinstance(map_error(refused(call)[0]), Transient)


def test_a_calendar_batch_meeting_a_daily_quota_stops_instead_of_sleeping_for_hours(emulator: EmulatorServer) -> None:
    """Before: an inner 403 that waits hours was retried after sleeping its whole Retry-After (the run hung
    until the function's timeout); now the batch raises the quota so the kind waits for the reset."""
    creds = credentials(emulator.state, ANA)
    events = service("calendar", emulator.base_url, creds).events()
    faults(emulator.base_url, {"method": "calendar.events.list", "probability": 1, "errors": ["daily_limit"]})
    slept: list[float] = []
    runner = BatchRunner(emulator.base_url + "/batch/calendar/v3", OpCounter(), Pacer(), sleep=slept.append)
    calls = [Call("calendar.events.list", events.list(calendarId="primary")) for _ in range(3)]
    with pytest.raises(QuotaExceeded) as info:
        runner.run(calls)
    assert info.value.period is QuotaPeriod.DAY
    assert slept == []
