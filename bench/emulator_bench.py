"""Benchmark of the Google emulator through the real client libraries.

Run ``python -m bench.emulator_bench``: starts ``EmulatorServer`` in-process, loads data
with each API module's ``seed()`` (or through the API when a module has none), times the
calls below with googleapiclient and prints one JSON object. A figure is ``null`` when the
API module it needs does not exist.
"""

from __future__ import annotations

import importlib
import json
import resource
import statistics
import sys
import time
from collections.abc import Callable
from types import ModuleType
from typing import Any

from google.oauth2.credentials import Credentials
from googleapiclient.discovery import build

from infra.google_emulator.core import SCOPE_CALENDAR, SCOPE_CONTACTS, SCOPE_TASKS, EmulatorState
from infra.google_emulator.server import EmulatorServer

SCOPES = frozenset({SCOPE_CONTACTS, SCOPE_CALENDAR, SCOPE_TASKS})
RUNS = 5


def _module(name: str) -> ModuleType | None:
    try:
        return importlib.import_module(f"infra.google_emulator.{name}")
    except ModuleNotFoundError as err:
        if err.name != f"infra.google_emulator.{name}":
            raise
        return None


def _service(api: str, base_url: str, state: EmulatorState, email: str) -> Any:
    """A real client for ``api`` aimed at the emulator (as tests/support/google.py does)."""
    creds = Credentials(token=state.mint_access_token(email, SCOPES).token)  # type: ignore[no-untyped-call]
    version, endpoint = {
        "people": ("v1", base_url),
        "calendar": ("v3", base_url + "/calendar/v3/"),
        "tasks": ("v1", base_url),
    }[api]
    return build(
        api,
        version,
        credentials=creds,
        static_discovery=True,
        client_options={"api_endpoint": endpoint},
        cache_discovery=False,
    )


def _ms(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return round((time.perf_counter() - start) * 1000, 1)


def _median_ms(fn: Callable[[], Any], runs: int = RUNS) -> float:
    return round(statistics.median(_ms(fn) for _ in range(runs)), 1)


def _person(n: int) -> dict[str, Any]:
    return {
        "names": [{"givenName": f"Given{n}", "familyName": f"Family{n}"}],
        "emailAddresses": [{"value": f"person{n}@example.com"}],
        "phoneNumbers": [{"value": f"+4420{n:08d}"}],
    }


def _event(n: int) -> dict[str, Any]:
    day, hour = 1 + n % 28, n % 20
    return {
        "summary": f"Event {n}",
        "start": {"dateTime": f"2025-03-{day:02d}T{hour:02d}:00:00Z"},
        "end": {"dateTime": f"2025-03-{day:02d}T{hour:02d}:30:00Z"},
    }


def bench_people_batch_create(server: EmulatorServer) -> float | None:
    """Median ms of one batchCreateContacts of 200 contacts (a fresh account per run)."""
    if _module("people") is None:
        return None
    times = []
    for run in range(RUNS):
        svc = _service("people", server.base_url, server.state, f"bench-create-{run}@example.com")
        body = {"contacts": [{"contactPerson": _person(n)} for n in range(200)], "readMask": "names"}
        times.append(_ms(svc.people().batchCreateContacts(body=body).execute))
    return round(statistics.median(times), 1)


def bench_people_list(server: EmulatorServer, total: int = 10_000) -> dict[str, Any] | None:
    """A full connections.list of ``total`` contacts at pageSize 1000."""
    people = _module("people")
    if people is None:
        return None
    email = "bench-list@example.com"
    svc = _service("people", server.base_url, server.state, email)
    if hasattr(people, "seed"):
        people.seed(server.state.account(email), server.state, {"connections": [_person(n) for n in range(total)]})
    else:
        for start in range(0, total, 200):
            body = {"contacts": [{"contactPerson": _person(n)} for n in range(start, min(start + 200, total))]}
            svc.people().batchCreateContacts(body=body).execute()

    def full_list() -> tuple[int, int]:
        count = calls = 0
        req = (
            svc.people()
            .connections()
            .list(resourceName="people/me", personFields="names,emailAddresses", pageSize=1000)
        )
        while req is not None:
            resp = req.execute()
            calls += 1
            count += len(resp.get("connections", []))
            req = svc.people().connections().list_next(req, resp)
        return count, calls

    count, calls = full_list()
    return {"ms": _median_ms(full_list, 3), "contacts": count, "calls": calls}


def bench_calendar_list(server: EmulatorServer, total: int = 2_500) -> dict[str, Any] | None:
    """events.list of ``total`` events in one page (maxResults 2500)."""
    calendar = _module("calendar")
    if calendar is None:
        return None
    email = "bench-calendar@example.com"
    svc = _service("calendar", server.base_url, server.state, email)
    if hasattr(calendar, "seed"):
        calendar.seed(
            server.state.account(email), server.state, {"calendars": {"primary": [_event(n) for n in range(total)]}}
        )
    else:
        for n in range(total):
            svc.events().insert(calendarId="primary", body=_event(n), sendUpdates="none").execute()
    page: dict[str, Any] = {}

    def one_page() -> None:
        page.update(svc.events().list(calendarId="primary", maxResults=2500).execute())

    ms = _median_ms(one_page)
    return {"ms": ms, "events": len(page.get("items", [])), "nextPageToken": "nextPageToken" in page}


def bench_tasks_list(server: EmulatorServer, total: int = 2_000) -> dict[str, Any] | None:
    """A full tasks.list of ``total`` tasks at maxResults 100 (Google's maximum)."""
    tasks = _module("tasks")
    if tasks is None:
        return None
    email = "bench-tasks@example.com"
    svc = _service("tasks", server.base_url, server.state, email)
    if hasattr(tasks, "seed"):
        tasks.seed(
            server.state.account(email),
            server.state,
            {"tasklists": {"My Tasks": [{"title": f"Task {n}"} for n in range(total)]}},
        )
    else:
        for n in range(total):
            svc.tasks().insert(tasklist="@default", body={"title": f"Task {n}"}).execute()

    def full_list() -> tuple[int, int]:
        count = calls = 0
        req = svc.tasks().list(tasklist="@default", maxResults=100)
        while req is not None:
            resp = req.execute()
            calls += 1
            count += len(resp.get("items", []))
            req = svc.tasks().list_next(req, resp)
        return count, calls

    count, calls = full_list()
    return {"ms": _median_ms(full_list), "tasks": count, "calls": calls}


def main() -> dict[str, Any]:
    """Run every benchmark and return the figures."""
    started = time.perf_counter()
    server = EmulatorServer().start()
    try:
        figures: dict[str, Any] = {
            "people_batchCreateContacts_200_ms_median": bench_people_batch_create(server),
            "people_connections_list_10000_pageSize_1000": bench_people_list(server),
            "calendar_events_list_2500_one_page": bench_calendar_list(server),
            "tasks_list_2000_maxResults_100": bench_tasks_list(server),
        }
    finally:
        server.stop()
    figures["wall_time_s"] = round(time.perf_counter() - started, 2)
    # ru_maxrss is KiB on Linux, bytes on macOS.
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    figures["peak_rss_mb"] = round(rss / (1024 * 1024 if sys.platform == "darwin" else 1024), 1)
    return figures


if __name__ == "__main__":
    print(json.dumps(main(), indent=2))
