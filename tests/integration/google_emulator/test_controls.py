"""The private control API (/__emulator/...) and the faults, quotas and latency it drives."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests
from googleapiclient.http import BatchHttpRequest

from infra.google_emulator.core import SCOPE_CALENDAR, SCOPE_TASKS
from infra.google_emulator.server import EmulatorServer
from tests.support.google import credentials, service

pytestmark = pytest.mark.integration

ANA = "ana@example.com"
LISTS = "/tasks/v1/users/@me/lists"


def control(base: str, path: str, body: dict[str, Any] | None = None, **params: str) -> Any:
    resp = requests.post(f"{base}/__emulator/{path}", json=body or {}, params=params, timeout=5)
    assert resp.status_code == 200, resp.text
    return resp.json()


def token(base: str, email: str = ANA, scopes: tuple[str, ...] = (SCOPE_TASKS, SCOPE_CALENDAR)) -> dict[str, str]:
    minted = control(base, "tokens", {"email": email, "scopes": list(scopes)})
    return {"Authorization": "Bearer " + minted["access_token"]}


def get(base: str, path: str, headers: dict[str, str]) -> requests.Response:
    return requests.get(base + path, headers=headers, timeout=5)


def test_scripted_faults_then_ok(emulator: EmulatorServer) -> None:
    base = emulator.base_url
    auth = token(base)
    control(base, "faults", {"method": "tasks.tasklists.list", "sequence": ["429", "ok", "500"]})
    first, second, third, fourth = (get(base, LISTS, auth) for _ in range(4))
    assert first.status_code == 429
    assert first.json()["error"]["status"] == "RESOURCE_EXHAUSTED"
    assert first.json()["error"]["errors"][0]["reason"] == "rateLimitExceeded"  # Tasks also carries legacy errors[]
    assert second.status_code == 200
    assert third.status_code == 500
    assert fourth.status_code == 200
    calendar = get(base, "/calendar/v3/users/me/calendarList", auth)
    assert calendar.status_code == 200  # the rule is per method id


def test_drop_closes_the_connection_without_a_response(emulator: EmulatorServer) -> None:
    base = emulator.base_url
    auth = token(base)
    control(base, "faults", {"method": "*", "sequence": ["drop"]})
    with pytest.raises(requests.exceptions.ConnectionError):
        get(base, LISTS, auth)
    assert get(base, LISTS, auth).status_code == 200


def test_probability_faults_are_seedable(emulator: EmulatorServer) -> None:
    base = emulator.base_url
    auth = token(base)

    def pattern() -> list[int]:
        control(base, "faults", {"clear": True, "seed": 7, "method": "*", "probability": 0.5, "errors": ["503", "500"]})
        return [get(base, LISTS, auth).status_code for _ in range(20)]

    first = pattern()
    assert first == pattern()
    assert {200, 500, 503} <= set(first)
    bad = requests.post(base + "/__emulator/faults", json={"method": "*", "probability": 2}, timeout=5)
    assert bad.status_code == 400
    assert "probability" in bad.json()["error"]["message"]


def test_quota_answers_each_apis_rate_limit_error_with_retry_after(emulator: EmulatorServer) -> None:
    base = emulator.base_url
    auth = token(base)
    control(base, "clock", {"set": "2026-05-01T12:00:00Z", "frozen": True})
    control(base, "quotas", {"limits": {"tasks": 2, "calendar": 1}})
    assert [get(base, LISTS, auth).status_code for _ in range(2)] == [200, 200]
    limited = get(base, LISTS, auth)
    assert limited.status_code == 429
    assert limited.headers["Retry-After"] == "60"
    details = limited.json()["error"]["details"]
    assert details[0]["reason"] == "RATE_LIMIT_EXCEEDED"

    assert get(base, "/calendar/v3/users/me/calendarList", auth).status_code == 200
    cal = get(base, "/calendar/v3/users/me/calendarList", auth)
    assert cal.status_code == 403
    assert cal.json()["error"]["errors"][0]["reason"] == "userRateLimitExceeded"
    control(base, "quotas", {"calendar_status": 429})
    cal = get(base, "/calendar/v3/users/me/calendarList", auth)
    assert cal.status_code == 429
    assert cal.json()["error"]["errors"][0]["reason"] == "rateLimitExceeded"
    assert "Retry-After" in cal.headers

    other = token(base, "bo@example.com")
    assert get(base, LISTS, other).status_code == 200  # quotas are per account
    control(base, "clock", {"advance_seconds": 30})
    assert get(base, LISTS, auth).headers["Retry-After"] == "30"  # sliding window
    control(base, "clock", {"advance_seconds": 31})
    assert get(base, LISTS, auth).status_code == 200


def test_inner_batch_calls_count_against_quota(emulator: EmulatorServer) -> None:
    base = emulator.base_url
    control(base, "quotas", {"limits": {"tasks:write": 2}})
    tasks = service("tasks", base, credentials(emulator.state, ANA))
    statuses: list[int] = []
    batch = BatchHttpRequest(
        batch_uri=base + "/batch", callback=lambda _id, _resp, exc: statuses.append(exc.resp.status if exc else 200)
    )
    for n in range(3):
        batch.add(tasks.tasklists().insert(body={"title": f"L{n}"}))
    batch.execute()
    assert statuses == [200, 200, 429]
    assert get(base, LISTS, token(base)).status_code == 200  # reads are not limited by tasks:write


def test_latency_is_added_and_does_not_serialize_calls(emulator: EmulatorServer) -> None:
    base = emulator.base_url
    auth = token(base)
    control(base, "latency", {"ms": 200})
    started = time.perf_counter()
    with ThreadPoolExecutor(4) as pool:
        codes = list(pool.map(lambda _: get(base, LISTS, auth).status_code, range(4)))
    elapsed = time.perf_counter() - started
    assert codes == [200] * 4
    assert 0.2 <= elapsed < 0.6  # four 200 ms calls in parallel, not 800 ms in series
    control(base, "latency", {"ms": 0, "methods": {"tasks.tasklists.get": 150}})
    started = time.perf_counter()
    get(base, LISTS, auth)
    assert time.perf_counter() - started < 0.1
    started = time.perf_counter()
    get(base, LISTS + "/nope", auth)
    assert time.perf_counter() - started >= 0.15


def test_stats_count_per_account_and_reset(emulator: EmulatorServer) -> None:
    base = emulator.base_url
    ana, bo = token(base), token(base, "bo@example.com")
    for _ in range(3):
        get(base, LISTS, ana)
    get(base, LISTS, bo)
    both = requests.get(base + "/__emulator/stats", timeout=5).json()["accounts"]
    assert both[ANA]["calls"] == {"tasks.tasklists.list": 3}
    assert both[ANA]["total"] == 3
    assert both[ANA]["statuses"]["tasks.tasklists.list"] == {"200": 3}
    assert both["bo@example.com"]["calls"] == {"tasks.tasklists.list": 1}
    control(base, "stats/reset")
    only = requests.get(base + "/__emulator/stats", params={"account": ANA}, timeout=5).json()["accounts"]
    assert only == {ANA: {"calls": {}, "total": 0, "batch": 0, "statuses": {}}}


def test_clock_set_freeze_and_advance_expire_tokens(emulator: EmulatorServer) -> None:
    base = emulator.base_url
    assert control(base, "clock", {"set": "2030-01-02T03:04:05Z", "frozen": True})["now"] == "2030-01-02T03:04:05.000Z"
    auth = token(base)
    control(base, "settings", {"access_token_ttl_seconds": 60})
    short = token(base)
    assert control(base, "clock", {"advance_seconds": 61})["now"] == "2030-01-02T03:05:06.000Z"
    assert get(base, LISTS, short).status_code == 401
    assert get(base, LISTS, auth).status_code == 200  # minted before the ttl change: one hour
    bad = requests.post(base + "/__emulator/clock", json={"set": "yesterday"}, timeout=5)
    assert bad.status_code == 400
    assert "yesterday" in bad.json()["error"]["message"]


def test_seed_and_dump_round_trip(emulator: EmulatorServer) -> None:
    base = emulator.base_url
    data = {"tasks": {"tasklists": {"Work": [{"title": "Call Ana", "notes": "re: renewal"}]}}}
    control(base, "seed", data, account=ANA)
    dumped = requests.get(base + "/__emulator/dump", params={"account": ANA}, timeout=5).json()
    work = dumped["tasks"]["tasklists"]["Work"]
    assert [(t["title"], t.get("notes")) for t in work] == [("Call Ana", "re: renewal")]
    seen = get(base, LISTS, token(base)).json()
    assert "Work" in {item["title"] for item in seen["items"]}
    empty = requests.get(base + "/__emulator/dump", params={"account": "bo@example.com"}, timeout=5).json()
    assert not empty["tasks"]["tasklists"].get("Work")  # per-account isolation
    bad = requests.post(base + "/__emulator/seed", params={"account": ANA}, json={"gmail": {}}, timeout=5)
    assert bad.status_code == 400
    assert "gmail" in bad.json()["error"]["message"]
    expired = control(base, "expire-sync-tokens", account=ANA)["expired"]
    assert "tasks" not in expired  # Tasks has no sync tokens


def test_reset_accounts_grants_and_settings(emulator: EmulatorServer) -> None:
    base = emulator.base_url
    created = control(base, "accounts", {"email": "Dee@Example.com", "name": "Dee Lin"})
    assert created["email"] == "dee@example.com"
    assert created["name"] == "Dee Lin"
    grant = control(base, "grants", {"email": "dee@example.com", "client_id": "cli", "scopes": [SCOPE_TASKS]})
    assert grant["refresh_token"]
    assert grant["scope"] == SCOPE_TASKS
    auth = {"Authorization": "Bearer " + grant["access_token"]}
    assert get(base, LISTS, auth).status_code == 200
    assert control(base, "settings", {"auto_approve": True, "default_account": "x@example.com"})["auto_approve"] is True
    bad = requests.post(base + "/__emulator/settings", json={"auto_aprove": True}, timeout=5)
    assert bad.status_code == 400
    assert "auto_aprove" in bad.json()["error"]["message"]
    control(base, "reset")
    assert get(base, LISTS, auth).status_code == 401
    assert requests.get(base + "/__emulator/accounts", timeout=5).json() == {"accounts": []}
    assert requests.get(base + "/__emulator/settings", timeout=5).json()["auto_approve"] is False
