"""Batch endpoints through googleapiclient's BatchHttpRequest (and one raw CRLF request)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import requests
from googleapiclient.errors import HttpError
from googleapiclient.http import BatchHttpRequest

from infra.google_emulator.core import SCOPE_CALENDAR, SCOPE_TASKS
from infra.google_emulator.server import EmulatorServer
from tests.support.google import credentials, service

pytestmark = pytest.mark.integration

ANA = "ana@example.com"


class Collector:
    """A batch callback that keeps each part's (response, error) by request id."""

    def __init__(self) -> None:
        self.results: dict[str, tuple[Any, HttpError | None]] = {}

    def __call__(self, request_id: str, response: Any, exception: HttpError | None) -> None:
        self.results[request_id] = (response, exception)


def stats(base: str, account: str) -> dict[str, Any]:
    resp = requests.get(base + "/__emulator/stats", params={"account": account}, timeout=5)
    resp.raise_for_status()
    counters: dict[str, Any] = resp.json()["accounts"][account]
    return counters


def test_tasks_batch_gives_per_part_results_and_counts_inner_calls(emulator: EmulatorServer) -> None:
    base = emulator.base_url
    tasks = service("tasks", base, credentials(emulator.state, ANA))
    seen = Collector()
    batch = BatchHttpRequest(callback=seen, batch_uri=base + "/batch")
    for n in range(3):
        batch.add(tasks.tasklists().insert(body={"title": f"List {n}"}), request_id=f"list-{n}")
    batch.add(tasks.tasklists().get(tasklist="does-not-exist"), request_id="missing")
    batch.execute()

    assert [seen.results[f"list-{n}"][0]["title"] for n in range(3)] == ["List 0", "List 1", "List 2"]
    assert all(seen.results[f"list-{n}"][1] is None for n in range(3))
    missing = seen.results["missing"][1]
    assert missing is not None
    assert missing.resp.status == 404
    titles = {t["title"] for t in tasks.tasklists().list().execute()["items"]}
    assert {"List 0", "List 1", "List 2"} <= titles
    counted = stats(base, ANA)
    assert counted["calls"]["tasks.tasklists.insert"] == 3
    assert counted["calls"]["tasks.tasklists.get"] == 1
    assert counted["batch"] == 1
    assert "batch" not in counted["calls"]


def test_calendar_batch_and_per_part_auth(emulator: EmulatorServer) -> None:
    base = emulator.base_url
    cal = service("calendar", base, credentials(emulator.state, ANA, frozenset({SCOPE_CALENDAR})))
    weak = service("calendar", base, credentials(emulator.state, ANA, frozenset({SCOPE_TASKS})))
    seen = Collector()
    batch = BatchHttpRequest(callback=seen, batch_uri=base + "/batch/calendar/v3")
    event = {
        "summary": "Call",
        "start": {"dateTime": "2026-03-01T10:00:00Z"},
        "end": {"dateTime": "2026-03-01T10:30:00Z"},
    }
    batch.add(cal.events().insert(calendarId="primary", body=event, sendUpdates="none"), request_id="ok")
    batch.add(weak.events().insert(calendarId="primary", body=event), request_id="no-scope")
    batch.execute()
    assert seen.results["ok"][0]["summary"] == "Call"
    denied = seen.results["no-scope"][1]
    assert denied is not None
    assert denied.resp.status == 403


def test_inner_call_to_another_api_is_refused_per_part(emulator: EmulatorServer) -> None:
    base = emulator.base_url
    creds = credentials(emulator.state, ANA)
    seen = Collector()
    batch = BatchHttpRequest(callback=seen, batch_uri=base + "/batch")
    batch.add(service("calendar", base, creds).calendarList().list(), request_id="calendar")
    batch.add(service("tasks", base, creds).tasklists().list(), request_id="tasks")
    batch.execute()
    wrong = seen.results["calendar"][1]
    assert wrong is not None
    assert wrong.resp.status == 404
    assert seen.results["tasks"][1] is None


def test_over_limit_batch_is_400(emulator: EmulatorServer) -> None:
    base = emulator.base_url
    requests.post(base + "/__emulator/settings", json={"batch_limit": 2}, timeout=5).raise_for_status()
    tasks = service("tasks", base, credentials(emulator.state, ANA))
    batch = BatchHttpRequest(batch_uri=base + "/batch")
    for _ in range(3):
        batch.add(tasks.tasklists().list())
    with pytest.raises(HttpError) as err:
        batch.execute()
    assert err.value.resp.status == 400
    assert "at most 2" in str(err.value)
    assert stats(base, ANA)["calls"] == {}  # nothing inside ran


def raw_batch(url: str, requests_text: list[str], eol: str = "\n") -> requests.Response:
    """POST hand-framed inner requests as multipart/mixed (googleapiclient itself stops at 1000 parts)."""
    boundary = "b_" + uuid.uuid4().hex
    body = "".join(
        f"--{boundary}{eol}Content-Type: application/http{eol}Content-ID: <item{n}>{eol}{eol}{text}{eol}"
        for n, text in enumerate(requests_text)
    )
    body += f"--{boundary}--{eol}"
    return requests.post(
        url, data=body.encode(), headers={"Content-Type": f"multipart/mixed; boundary={boundary}"}, timeout=30
    )


def test_calendar_batch_allows_1000_and_refuses_1001(emulator: EmulatorServer) -> None:
    base = emulator.base_url
    token = emulator.state.mint_access_token(ANA, frozenset({SCOPE_CALENDAR})).token
    inner = f"GET /calendar/v3/users/me/calendarList HTTP/1.1\nAuthorization: Bearer {token}\n\n"
    assert raw_batch(base + "/batch/calendar/v3", [inner] * 1000).status_code == 200
    assert stats(base, ANA)["calls"]["calendar.calendarList.list"] == 1000
    refused = raw_batch(base + "/batch/calendar/v3", [inner] * 1001)
    assert refused.status_code == 400
    assert refused.json()["error"]["errors"][0]["reason"] == "invalid"  # Calendar's error shape
    assert stats(base, ANA)["calls"]["calendar.calendarList.list"] == 1000


def test_faults_apply_per_inner_call(emulator: EmulatorServer) -> None:
    base = emulator.base_url
    requests.post(
        base + "/__emulator/faults",
        json={"method": "tasks.tasklists.insert", "sequence": ["ok", "503", "ok"]},
        timeout=5,
    ).raise_for_status()
    tasks = service("tasks", base, credentials(emulator.state, ANA))
    seen = Collector()
    batch = BatchHttpRequest(callback=seen, batch_uri=base + "/batch")
    for n in range(3):
        batch.add(tasks.tasklists().insert(body={"title": f"L{n}"}), request_id=str(n))
    batch.execute()
    assert [seen.results[str(n)][1] is None for n in range(3)] == [True, False, True]
    failed = seen.results["1"][1]
    assert failed is not None
    assert failed.resp.status == 503


def test_raw_crlf_batch_with_empty_bodies(emulator: EmulatorServer) -> None:
    """Another client's framing: CRLF line endings, absolute URL in the request line, a 204 part."""
    base = emulator.base_url
    token = emulator.state.mint_access_token(ANA, frozenset({SCOPE_TASKS})).token
    created = requests.post(
        base + "/tasks/v1/users/@me/lists",
        json={"title": "Gone"},
        timeout=5,
        headers={"Authorization": "Bearer " + token},
    ).json()
    parts = [
        f"DELETE {base}/tasks/v1/users/@me/lists/{created['id']} HTTP/1.1\r\nAuthorization: Bearer {token}\r\n\r\n",
        f"GET /tasks/v1/users/@me/lists?maxResults=5 HTTP/1.1\r\nAuthorization: Bearer {token}\r\n\r\n",
    ]
    resp = raw_batch(base + "/batch", parts, eol="\r\n")
    assert resp.status_code == 200
    assert resp.headers["Content-Type"].startswith("multipart/mixed; boundary=")
    assert "Content-ID: <response-item0>" in resp.text
    assert "HTTP/1.1 204 No Content" in resp.text
    assert "Content-ID: <response-item1>" in resp.text
    assert "HTTP/1.1 200 OK" in resp.text
    not_multipart = requests.post(base + "/batch", data=b"{}", headers={"Content-Type": "application/json"}, timeout=5)
    assert not_multipart.status_code == 400
    assert "multipart/mixed" in not_multipart.json()["error"]["message"]


def test_batch_level_fault_and_inner_drop(emulator: EmulatorServer) -> None:
    base = emulator.base_url
    tasks = service("tasks", base, credentials(emulator.state, ANA))
    requests.post(
        base + "/__emulator/faults", json={"method": "batch", "sequence": ["503"]}, timeout=5
    ).raise_for_status()
    batch = BatchHttpRequest(batch_uri=base + "/batch")
    batch.add(tasks.tasklists().list())
    with pytest.raises(HttpError) as err:
        batch.execute()
    assert err.value.resp.status == 503
    assert stats(base, ANA)["calls"] == {}  # the outer call failed before any inner call ran
    requests.post(
        base + "/__emulator/faults", json={"method": "*", "sequence": ["ok", "drop"]}, timeout=5
    ).raise_for_status()
    token = emulator.state.mint_access_token(ANA, frozenset({SCOPE_TASKS})).token
    inner = f"GET /tasks/v1/users/@me/lists HTTP/1.1\nAuthorization: Bearer {token}\n\n"
    with pytest.raises(requests.exceptions.ConnectionError):
        raw_batch(base + "/batch", [inner, inner])  # one dropped inner call drops the whole batch connection
