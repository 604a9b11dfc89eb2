"""Benchmark of the event sync: ``python -m bench.events_bench [--n 5000]``.

In-process Google emulator (real HTTP, real client libraries), the CRM's in-memory
fake and the in-memory link store. Scenarios: first sync of N CRM activities (10 %
recurring, a fifth of those with a moved occurrence) to Google, quotas off; the
echo sync and a no-change sync; first sync of N Google events to the CRM; the same
CRM-to-Google first sync with the emulator's per-user quota at 600 calls/min,
paced across continuation runs. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import resource
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from typing import Any

from crmsync.crm.events_side import CrmEvents
from crmsync.crm.fake import FakeCrm
from crmsync.google.calendar import GoogleCalendar
from crmsync.google.client import Endpoint, build_service
from crmsync.google.pacing import Pacer
from crmsync.model.event import EventOptions, match_keys
from crmsync.model.kinds import Kind
from crmsync.model.settings import KindSettings
from crmsync.ports import OpCounter, WriteOp
from crmsync.store.memory import MemoryStore
from crmsync.sync.engine import KindSync
from crmsync.sync.report import KindReport
from infra.google_emulator import calendar as emu_calendar
from infra.google_emulator.core import SCOPE_CALENDAR
from infra.google_emulator.server import EmulatorServer

EMAIL = "bench@example.com"
NOW = datetime(2026, 10, 15, 8, 0, tzinfo=UTC)


def activity(i: int) -> dict[str, Any]:
    """The i-th benchmark activity: 10 % weekly series, every 50th with a moved occurrence."""
    day = NOW + timedelta(days=1 + i % 300)
    start = day.strftime("%Y-%m-%dT") + f"{8 + i % 9:02d}:00:00"
    body: dict[str, Any] = {
        "subject": f"Meeting {i}",
        "owner_id": "u1",
        "start": start,
        "end": start[:11] + f"{8 + i % 9:02d}:45:00",
        "time_zone": "Europe/Berlin",
        "attendees": [{"email": f"guest{i % 97}@example.org"}],
    }
    if i % 10 == 0:
        body["recurrence"] = {"rrule": "FREQ=WEEKLY;COUNT=10"}
        if i % 50 == 0:
            moved = (day + timedelta(days=7)).strftime("%Y-%m-%dT") + start[11:]
            body["exceptions"] = [
                {"original_start": moved, "start": moved[:11] + "18:00:00", "end": moved[:11] + "18:30:00"}
            ]
    return body


def google_event(i: int) -> dict[str, Any]:
    """The i-th seeded Google event (10 % series)."""
    day = (NOW + timedelta(days=1 + i % 300)).strftime("%Y-%m-%d")
    ev: dict[str, Any] = {
        "summary": f"Google {i}",
        "start": {"dateTime": f"{day}T10:00:00", "timeZone": "America/New_York"},
        "end": {"dateTime": f"{day}T11:00:00", "timeZone": "America/New_York"},
    }
    if i % 10 == 0:
        ev["recurrence"] = ["RRULE:FREQ=DAILY;COUNT=5"]
    return ev


class Bench:
    """One account, one CRM, one link store, and the engine between them."""

    def __init__(self, server: EmulatorServer, *, quota: int | None = None, select_fields: bool = True) -> None:
        self.server = server
        server.state.reset()
        server.state.clock.set(NOW, frozen=True)
        if quota:
            server.state.extras["quota_limits"] = {"calendar": quota}
        self.crm = FakeCrm()
        self.crm.add_user(EMAIL, "Bench", user_id="u1")
        self.store = MemoryStore()
        self.links = self.store.connection_store("conn1")
        self.settings = KindSettings(google_group=None)
        self.options = EventOptions()
        self.crm_counter, self.g_counter = OpCounter(), OpCounter()
        self.pacer = Pacer(quota, clock=lambda: server.state.clock.now().timestamp())
        creds = server.state.mint_access_token(EMAIL, frozenset({SCOPE_CALENDAR}))
        from google.oauth2.credentials import Credentials

        endpoint = Endpoint(server.base_url, timeout=120)
        token = Credentials(token=creds.token)  # type: ignore[no-untyped-call]
        service = build_service("calendar", token, endpoint, select_fields=select_fields)
        self.google = GoogleCalendar(
            service,
            endpoint.batch_uri("calendar"),
            connection_id="conn1",
            me=EMAIL,
            options=self.options,
            counter=self.g_counter,
            pacer=self.pacer,
            clock=lambda: NOW,
            sleep=self.sleep,
        )

    def sleep(self, seconds: float) -> None:
        self.server.state.clock.advance(timedelta(seconds=seconds))

    def crm_side(self) -> CrmEvents:
        return CrmEvents(self.crm, "conn1", "u1", self.settings, self.options, self.crm_counter, clock=lambda: NOW)

    def sync(self, **kw: Any) -> KindReport:
        engine = KindSync(
            Kind.EVENTS, self.crm_side(), self.google, self.links, self.settings, clock=lambda: NOW,
            match_keys=match_keys, **kw,
        )  # fmt: skip
        return engine.run()

    def stats(self) -> dict[str, Any]:
        url = f"{self.server.base_url}/__emulator/stats?account={EMAIL}"
        with urllib.request.urlopen(url) as resp:
            return dict(json.loads(resp.read())["accounts"].get(EMAIL, {"calls": {}, "batch": 0, "statuses": {}}))

    def received(self) -> int:
        """Response body bytes the account has received since the last reset (batches whole)."""
        url = f"{self.server.base_url}/__emulator/traffic?account={EMAIL}"
        with urllib.request.urlopen(url) as resp:
            return int(json.loads(resp.read())["accounts"].get(EMAIL, {}).get("bytes", 0))

    def measure(self, fn: Any) -> dict[str, Any]:
        """Run ``fn`` and report its requests, bytes received, store operations and time."""
        for reset in ("stats/reset", "traffic/reset"):
            urllib.request.urlopen(
                urllib.request.Request(f"{self.server.base_url}/__emulator/{reset}", data=b"{}", method="POST")
            ).read()
        crm_before, store_before = self.crm.calls, dict(self.store.counter.counts)
        started = time.perf_counter()
        result = fn()
        wall = time.perf_counter() - started
        stats = self.stats()
        store = {k: v - store_before.get(k, 0) for k, v in self.store.counter.counts.items()}
        limited = sum(n for m in stats["statuses"].values() for code, n in m.items() if code in ("403", "429"))
        return {
            "google_requests_by_method": stats["calls"],
            "google_inner_calls": sum(stats["calls"].values()),
            "google_http_batch_requests": stats["batch"],
            "google_rate_limit_errors": limited,
            "google_bytes_received": self.received(),
            "crm_requests": self.crm.calls - crm_before,
            "link_store": {k: v for k, v in store.items() if v},
            "wall_seconds": round(wall, 2),
            "result": result,
        }


def _summary(report: KindReport) -> dict[str, Any]:
    return {"writes": report.writes, "complete": report.complete, "errors": report.errors[:3]}


def _field_selection(server: EmulatorServer, n: int, measured: dict[str, Any]) -> dict[str, Any]:
    """Bytes received with every request asking only for what crmsync reads (``fields``, as
    measured above) against the same runs asking for everything (issue 14 §7)."""
    out: dict[str, Any] = {}
    plain = Bench(server, select_fields=False)
    for i in range(n):
        plain.crm.create("activities", activity(i), f"k{i}")
    runs = {"crm_to_google_first_sync": None, "echo_sync": None, "no_change_sync": None}
    for name in runs:
        runs[name] = plain.measure(lambda: _summary(plain.sync()))["google_bytes_received"]
    g = Bench(server, select_fields=False)
    emu_calendar.seed(
        g.server.state.account(EMAIL), g.server.state, {"calendars": {"primary": [google_event(i) for i in range(n)]}}
    )
    for name in ("google_to_crm_first_sync", "google_to_crm_echo_sync", "google_to_crm_no_change_sync"):
        runs[name] = g.measure(lambda: _summary(g.sync()))["google_bytes_received"]
    for name, before in runs.items():
        after = measured[name]["google_bytes_received"]
        out[name] = {
            "bytes_without_fields": before,
            "bytes_with_fields": after,
            "saved_percent": round(100 * (1 - after / before), 1) if before else 0.0,
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=5000)
    n = parser.parse_args().n
    server = EmulatorServer().start()
    out: dict[str, Any] = {"n": n}
    try:
        b = Bench(server)
        for i in range(n):
            b.crm.create("activities", activity(i), f"k{i}")
        out["crm_to_google_first_sync"] = b.measure(lambda: _summary(b.sync()))
        out["echo_sync"] = b.measure(lambda: _summary(b.sync()))
        out["no_change_sync"] = b.measure(lambda: _summary(b.sync()))

        # The Google side alone, given every create at once (the engine hands it 200 per call).
        direct = Bench(server)
        for i in range(n):
            direct.crm.create("activities", activity(i), f"k{i}")
        listed = direct.crm_side().list_changes(None).changes
        ops = [WriteOp(ch.id, None, ch.canon, ch.canon, crm_id=ch.id) for ch in listed if ch.canon]
        out["google_side_insert_all_at_once"] = direct.measure(
            lambda: len([r for r in direct.google.create(ops) if r.ok])
        )

        g = Bench(server)
        emu_calendar.seed(
            g.server.state.account(EMAIL),
            g.server.state,
            {"calendars": {"primary": [google_event(i) for i in range(n)]}},
        )
        out["google_to_crm_first_sync"] = g.measure(lambda: _summary(g.sync()))
        out["google_to_crm_echo_sync"] = g.measure(lambda: _summary(g.sync()))
        out["google_to_crm_no_change_sync"] = g.measure(lambda: _summary(g.sync()))

        out["field_selection"] = _field_selection(server, n, out)

        q = Bench(server, quota=600)
        for i in range(n):
            q.crm.create("activities", activity(i), f"k{i}")

        def paced() -> dict[str, Any]:
            runs = 0
            while True:
                runs += 1
                report = q.sync(budget=q.google.budget)
                if report.complete or runs > 100:
                    return {"runs": runs, "complete": report.complete}
                q.sleep(60)  # the continuation task, a minute later

        out["crm_to_google_first_sync_quota_600_per_min"] = q.measure(paced)
        out["crm_to_google_first_sync_quota_600_per_min"]["events_in_google"] = len(q.google.list_changes(None).changes)
    finally:
        server.stop()
    out["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
