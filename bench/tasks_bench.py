"""Tasks benchmark (issue 7): 2,000 CRM tasks synced to Google Tasks for the first
time, the echo of those writes, and a no-change sync, against the Google emulator
(child process, optional latency), the reference CRM over HTTP (child process)
and the official Firestore emulator (links, cursors and creation intents).

Runs are spaced by the scheduler's interval (5 minutes, moved on the emulator's
clock and the sync's clock together), as in production; the Tasks watermark's
60 s overlap means writes younger than that are listed (and de-duplicated) again.

Run: ``python -m bench.tasks_bench [--tasks 2000] [--latency-ms 0] [--batch-size 100]``. Prints JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests
from google.oauth2.credentials import Credentials

from bench.support import Timer, child_server, diff, emulator_calls, peak_rss_mib
from crmsync.crm.rest import RestCrmConnector
from crmsync.crm.tasks_side import CrmTasks
from crmsync.google.client import Endpoint, build_service
from crmsync.google.intents import FirestoreIntentStore
from crmsync.google.tasks import GoogleTasks
from crmsync.model.kinds import Kind
from crmsync.model.settings import KindSettings, OwnerScope
from crmsync.model.task import TaskOptions, match_keys
from crmsync.ports import OpCounter
from crmsync.store.firestore import FirestoreStore
from crmsync.sync.engine import KindSync
from infra.firestore_emulator import new_firestore_client, start_firestore_emulator

CRM_KEY, EMAIL, CONN = "bench-key", "tasks@example.com", "bench-tasks"
TASKS_SCOPE = "https://www.googleapis.com/auth/tasks"
INTERVAL = timedelta(minutes=5)


class SharedClock:
    """The sync's clock and the emulator's clock, moved forward together."""

    def __init__(self, google: str) -> None:
        self.google = google
        self.offset = timedelta(0)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, delta: timedelta) -> None:
        self.offset += delta
        requests.post(self.google + "/__emulator/clock", json={"advance_seconds": delta.total_seconds()}, timeout=30)


class Scenario:
    """One connection's task sync, measured run by run."""

    def __init__(self, google: str, crm_url: str, fs_host: str, user_id: str, batch_size: int) -> None:
        self.google, self.clock, self.batch_size = google, SharedClock(google), batch_size
        token = requests.post(
            google + "/__emulator/tokens", json={"email": EMAIL, "scopes": [TASKS_SCOPE]}, timeout=30
        ).json()["access_token"]
        self.endpoint = Endpoint(google)
        self.service = build_service("tasks", Credentials(token=token), self.endpoint)  # type: ignore[no-untyped-call]
        self.crm = RestCrmConnector(crm_url, CRM_KEY)
        client = new_firestore_client(fs_host)
        self.fs, self.intent_ops, self.crm_ops = OpCounter(), OpCounter(), OpCounter()
        self.links = FirestoreStore(client, self.fs).connection_store(CONN)
        self.intents = FirestoreIntentStore(client, CONN, counter=self.intent_ops)
        self.user_id = user_id
        self.settings = KindSettings(google_group=None, owner_scope=OwnerScope.VISIBLE)

    def engine(self) -> KindSync:
        crm = CrmTasks(self.crm, CONN, self.user_id, self.settings, self.crm_ops)
        google = GoogleTasks(
            self.service,
            self.endpoint.batch_uri("tasks"),
            options=TaskOptions(),
            intents=self.intents,
            counter=OpCounter(),
            clock=self.clock.now,
            batch_size=self.batch_size,
        )
        return KindSync(Kind.TASKS, crm, google, self.links, self.settings, clock=self.clock.now, match_keys=match_keys)

    def run(self, label: str) -> dict[str, Any]:
        g0, c0, f0, i0 = (
            emulator_calls(self.google, EMAIL),
            self.crm.calls,
            dict(self.fs.counts),
            dict(self.intent_ops.counts),
        )
        with Timer() as t:
            report = self.engine().run()
        google = diff(emulator_calls(self.google, EMAIL), g0)
        outer = google.get("batch (outer HTTP requests)", 0)
        inner = sum(v for k, v in google.items() if not k.startswith("batch"))
        batched = sum(
            v
            for k, v in google.items()
            if k in ("tasks.tasks.insert", "tasks.tasks.patch", "tasks.tasks.delete", "tasks.tasks.get")
        )
        return {
            "scenario": label,
            "wall_s": t.seconds,
            "listed": report.listed,
            "writes": report.writes,
            "errors": report.errors[:5],
            "complete": report.complete,
            "google_calls_by_method": google,
            "google_http_requests": inner - batched + outer,
            "crm_requests": self.crm.calls - c0,
            "crm_calls_by_method": diff(self.crm_ops.counts, {}) if label.startswith("first") else None,
            "link_store": diff(self.fs.counts, f0),
            "intents": diff(self.intent_ops.counts, i0),
        }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--tasks", type=int, default=2000)
    ap.add_argument("--latency-ms", type=int, default=0)
    ap.add_argument("--batch-size", type=int, default=100)
    args = ap.parse_args(argv)
    out: dict[str, Any] = {"benchmark": "tasks", "tasks": args.tasks, "latency_ms": args.latency_ms, "results": []}
    host, stop_fs = start_firestore_emulator()
    os.environ["FIRESTORE_EMULATOR_HOST"] = host
    tmp = Path(tempfile.mkdtemp(prefix="crmsync-tasks-bench-"))
    try:
        from infra.crm.seed import seed

        with Timer() as seeding:
            seed(tmp / "crm.sqlite", contacts=0, activities=0, tasks=args.tasks, users=2, tricky=None)
        out["crm_seed_s"] = seeding.seconds
        with (
            child_server(["infra.google_emulator", "--port", "0", "--latency-ms", str(args.latency_ms)]) as google,
            child_server(["infra.crm", "--db", str(tmp / "crm.sqlite"), "--port", "0", "--api-key", CRM_KEY]) as crm,
        ):
            admin = RestCrmConnector(crm, CRM_KEY).user_by_email("admin@crm.example")
            assert admin is not None
            s = Scenario(google, crm, host, admin.id, args.batch_size)
            out["results"].append(s.run("first_sync_crm_to_google"))
            s.clock.advance(INTERVAL)
            out["results"].append(s.run("echo_of_own_writes"))
            s.clock.advance(INTERVAL)
            out["results"].append(s.run("no_change"))
            out["results"].append(s.run("no_change_again_at_once"))
    finally:
        stop_fs()
    out["peak_rss_mib"] = peak_rss_mib()
    by = {r["scenario"]: r for r in out["results"]}
    quiet = by["no_change"]
    out["targets"] = {
        "no_change_one_tasks_request": quiet["google_http_requests"] == 1,
        "no_change_one_crm_request": quiet["crm_requests"] == 1,
        "no_change_reads_only_the_cursor": quiet["link_store"] == {"firestore.reads": 1},
        "inserts_batched": by["first_sync_crm_to_google"]["google_calls_by_method"].get(
            "batch (outer HTTP requests)", 0
        )
        == -(-args.tasks // args.batch_size),
    }
    json.dump(out, sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
