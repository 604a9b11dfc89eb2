"""Fan-out benchmark (issue 6): one scheduler tick over 10,000 and 100,000 due connections on the
official Firestore emulator with a recording queue, the Firestore operations of one quiet worker run,
and the cost per connected user-month at 5-minute polling computed from those measured counts.

Run: ``python -m bench.fanout_bench [--sizes 10000,100000] [--enqueue-latency-ms 0]``. Prints JSON.

Variants: "sharded" is the production path (the due set split into 16 shards by a hash of the id,
--partitions of them paged at once, a projected listing, batched reschedule); "unsharded" is the path a
tick takes until the one-time shard backfill has finished (one listing of full documents), which was
every tick's path before shards existed. "shard_backfill" times that backfill over legacy documents.

The emulator is not production: a query's cost grows with the whole collection (and with a page's
start_after offset), where production reads an index range; so ticks/s here are a floor, and the bench
uses the largest pages (one per shard at 100,000). Operation counts are exact either way.

Enqueue latency: Cloud Tasks has no batch create, so production pays one RPC per task; pass
``--enqueue-latency-ms 20`` to see the rate the fan-out's thread pool reaches with that latency.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from google.cloud import firestore

from crmsync.model.cursor import Cursor
from crmsync.model.kinds import Kind
from crmsync.model.settings import KindSettings, SyncSettings
from crmsync.model.state import Connection
from crmsync.ports import OpCounter
from crmsync.queue.memory import MemoryTaskQueue
from crmsync.services import run_sync
from crmsync.services.fanout import FanoutSettings, fan_out
from crmsync.services.run_sync import GRANT_SCOPES, KindWiring, RunDeps
from crmsync.services.worker import SyncTask, WorkerDeps, WorkerSettings, handle_task
from crmsync.store.codec import connection_to_doc
from crmsync.store.contract import COMMITS, MAX_BATCH_WRITES, QUERIES, READS, WRITES
from crmsync.store.due import DUE_SHARDS, MIGRATION_DOC_ID, SWEEP_PAGE, with_shard
from crmsync.store.firestore import FirestoreStore
from crmsync.store.queries import CONNECTIONS
from crmsync.store.rules import CONFIG
from infra.firestore_emulator import new_firestore_client, start_firestore_emulator

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
RUNS_PER_MONTH = 30 * 24 * 60 // 5  # 8,640 runs of one connection at 5-minute polling

# Public list prices in USD, read 2026-11-22. Tier-1 / US regional prices; check your region.
PRICES: dict[str, dict[str, Any]] = {
    "firestore_read": {
        "usd": 0.03 / 100_000,
        "unit": "document read",
        "source": "https://cloud.google.com/firestore/pricing (Standard edition, regional US e.g. us-central1: "
        "$0.03 per 100,000 reads; multi-region nam5 is $0.06)",
    },
    "firestore_write": {
        "usd": 0.09 / 100_000,
        "unit": "document write",
        "source": "https://cloud.google.com/firestore/pricing (regional US: $0.09 per 100,000 writes; nam5 $0.18)",
    },
    "firestore_delete": {
        "usd": 0.01 / 100_000,
        "unit": "document delete (run-log TTL expiry)",
        "source": "https://cloud.google.com/firestore/pricing (regional US: $0.01 per 100,000 deletes; nam5 $0.02)",
    },
    "cloud_tasks_operation": {
        "usd": 0.40 / 1_000_000,
        "unit": "billable operation (create = 1, each push delivery attempt = 1); first 1M/month free",
        "source": "https://cloud.google.com/tasks/pricing ($0.40 per million beyond the first million)",
    },
    "secret_access": {
        "usd": 0.03 / 10_000,
        "unit": "access operation",
        "source": "https://cloud.google.com/secret-manager/pricing ($0.03 per 10,000 access operations)",
    },
    "secret_version_month": {
        "usd": 0.06,
        "unit": "active secret version per location per month",
        "source": "https://cloud.google.com/secret-manager/pricing ($0.06 per active version per location)",
    },
    "run_vcpu_second": {
        "usd": 0.000024,
        "unit": "vCPU-second (request-based billing, Tier 1)",
        "source": "https://cloud.google.com/run/pricing (Cloud Run functions bill as Cloud Run services)",
    },
    "run_gib_second": {
        "usd": 0.0000025,
        "unit": "GiB-second (request-based billing, Tier 1)",
        "source": "https://cloud.google.com/run/pricing",
    },
    "run_request": {
        "usd": 0.40 / 1_000_000,
        "unit": "request; first 2M/month free",
        "source": "https://cloud.google.com/run/pricing ($0.40 per million requests)",
    },
}
# Not measured here, so stated: wall time of one quiet worker run in production (1 People + 1 CRM
# request per kind plus ~10 Firestore round trips), and the worker's size (terraform functions.worker).
ASSUMED_QUIET_RUN_SECONDS = 0.6
WORKER_VCPU, WORKER_GIB, WORKER_CONCURRENCY = 1.0, 0.5, 8


class RecordingQueue:
    """Counts enqueues (with an optional simulated RPC latency); rejects a repeated name."""

    def __init__(self, latency_s: float = 0.0) -> None:
        self.latency_s = latency_s
        self.names: set[str] = set()
        self.lock = threading.Lock()

    def enqueue(
        self, connection_id: str, *, name: str | None, delay_seconds: float = 0, payload: dict[str, Any]
    ) -> bool:
        if self.latency_s:
            time.sleep(self.latency_s)
        with self.lock:
            if name in self.names:
                return False
            self.names.add(name or f"anon-{len(self.names)}")
            return True


class UnshardedFirestoreStore(FirestoreStore):
    """FirestoreStore before its shard backfill finished: the tick pages one unsharded listing of full
    documents (the path every tick took before shards existed)."""

    def due_shards_ready(self) -> bool:
        return False

    def backfill_due_shards(self, now: datetime, limit: int = SWEEP_PAGE) -> bool:
        return True  # measured apart (bench_backfill), so the tick's time is the listing's alone


def _connection(cid: str, due: datetime) -> Connection:
    return Connection(
        id=cid,
        crm_user_id=f"u-{cid}",
        google_subject=f"s-{cid}",
        google_email=f"{cid}@example.com",
        scopes=list(GRANT_SCOPES.values()),
        settings=SyncSettings(contacts=KindSettings(google_group=None)),
        next_sync_at=due,
        created_at=NOW - timedelta(days=30),
    )


def seed(client: firestore.Client, n: int, prefix: str = "c", sharded: bool = True) -> float:
    """Write n due connections in batches of 500, eight commits at a time; returns seconds taken.

    ``sharded``: documents as the store writes them now (with due_shard) and the backfill marked done;
    else as a version without shards wrote them."""
    started = time.monotonic()
    col = client.collection(CONNECTIONS)

    def commit(start: int) -> None:
        batch = client.batch()
        for i in range(start, min(start + MAX_BATCH_WRITES, n)):
            cid = f"{prefix}{i:07d}"
            doc = connection_to_doc(_connection(cid, NOW - timedelta(seconds=i % 600)))
            batch.set(col.document(cid), with_shard(cid, doc) if sharded else doc)
        batch.commit()

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(commit, range(0, n, MAX_BATCH_WRITES)))
    if sharded:
        marker = {"shards": DUE_SHARDS, "after": None, "done": True, "swept_at": NOW + timedelta(hours=1)}
        client.collection(CONFIG).document(MIGRATION_DOC_ID).set(marker)
    return time.monotonic() - started


VARIANTS = {
    "unsharded": (UnshardedFirestoreStore, "one unsharded listing of full documents (before the shard backfill)"),
    "sharded": (FirestoreStore, "production: shards paged in parallel, projected listing, batched reschedule"),
}


def bench_fanout(
    host: str, n: int, variants: list[str], latency_ms: float, concurrency: int, page_size: int, partitions: int
) -> list[dict[str, Any]]:
    """Seed n due connections on a fresh emulator project once, then time one tick per variant.

    Each tick moves every connection up to 5.5 minutes ahead, so the next variant ticks 6 minutes later."""
    client = new_firestore_client(host)
    seeded_s = seed(client, n)
    out = []
    for i, variant in enumerate(variants):
        counter = OpCounter()
        cls, label = VARIANTS[variant]
        store = cls(client, counter)
        queue = RecordingQueue(latency_ms / 1000)
        settings = FanoutSettings(page_size=page_size, concurrency=concurrency, max_seconds=3600, partitions=partitions)
        result = fan_out(store, queue, lambda i=i: NOW + timedelta(minutes=6 * i), settings)
        c = counter.counts
        out.append(
            {
                "connections": n,
                "variant": variant,
                "what": label,
                "enqueue_latency_ms": latency_ms,
                "seed_s": round(seeded_s, 1),
                "tick_s": round(result.duration_s, 2),
                "enqueued": result.enqueued,
                "enqueued_per_s": round(result.enqueued / result.duration_s),
                "page_size": page_size,
                "partitions": partitions if result.sharded else 1,
                "sharded": result.sharded,
                "pages": result.pages,
                "failed_pages": result.failed_pages,
                "firestore_reads_per_connection": round(c.get(READS, 0) / n, 3),
                "firestore_writes_per_connection": round(c.get(WRITES, 0) / n, 3),
                "firestore_queries": c.get(QUERIES, 0),
                "firestore_commits": c.get(COMMITS, 0),
            }
        )
        print(json.dumps(out[-1]), file=sys.stderr)
    return out


def bench_backfill(host: str, n: int) -> dict[str, Any]:
    """The one-time shard backfill over n connection documents written without shards."""
    client = new_firestore_client(host)
    seeded_s = seed(client, n, sharded=False)
    counter = OpCounter()
    store = FirestoreStore(client, counter)
    ready_before = store.due_shards_ready()
    started = time.monotonic()
    calls = 1
    while not store.backfill_due_shards(NOW):
        calls += 1
    took = time.monotonic() - started
    c = counter.counts
    result = {
        "connections": n,
        "seed_s": round(seeded_s, 1),
        "ready_before": ready_before,
        "ready_after": store.due_shards_ready(),
        "backfill_s": round(took, 2),
        "pages": calls,
        "firestore_reads_per_connection": round(c.get(READS, 0) / n, 3),
        "firestore_writes_per_connection": round(c.get(WRITES, 0) / n, 3),
    }
    print(json.dumps(result), file=sys.stderr)
    return result


@dataclass
class _QuietKind:
    """A kind whose sides never change: what a quiet run costs in Firestore beyond the sides."""

    def __call__(
        self, conn: Connection, credentials: Any, deps: RunDeps, cursor: Cursor, counter: OpCounter
    ) -> KindWiring:
        from tests.support.fakes import FakeSide

        return KindWiring(FakeSide(prefix="c"), FakeSide(prefix="g"), None)


def bench_worker_run(host: str, runs: int) -> dict[str, Any]:
    """Firestore operations of one quiet worker run (three kinds, no changes), measured on the emulator."""
    from crmsync.crm.fake import FakeCrm
    from crmsync.google.client import Endpoint
    from crmsync.services.run_sync import GoogleAccess
    from crmsync.vault.data_keys import InMemoryDataKeys
    from crmsync.vault.envelope import EnvelopeVault, InMemoryCiphertextStore

    client = new_firestore_client(host)
    counter = OpCounter()
    store = FirestoreStore(client, counter)
    vault = EnvelopeVault(InMemoryCiphertextStore(), InMemoryDataKeys())  # Secret Manager access counted apart
    clock = {"now": NOW}
    crm = FakeCrm()  # the worker checks the admin's connect policy for each connection's CRM user
    for i in range(runs):
        crm.add_user(f"w{i:04d}@crm.example", f"User {i}", user_id=f"u-w{i:04d}")
    run = RunDeps(store, crm, GoogleAccess(Endpoint("http://127.0.0.1:9"), "c", "s"), lambda: clock["now"])
    deps = WorkerDeps(store, vault, MemoryTaskQueue(), run, WorkerSettings())
    saved = dict(run_sync.KIND_FACTORIES)
    for kind in Kind:
        run_sync.register_kind(kind, _QuietKind())
    try:
        for i in range(runs):
            store.put_connection(_connection(f"w{i:04d}", NOW))
            vault.put(f"w{i:04d}", "bench-refresh-token")
        for i in range(runs):  # first runs: full listings, cursors written
            handle_task(SyncTask(f"w{i:04d}", task=f"w{i:04d}-1"), deps)
        clock["now"] += timedelta(minutes=5)
        before = dict(counter.counts)
        started = time.monotonic()
        outcomes = [handle_task(SyncTask(f"w{i:04d}", task=f"w{i:04d}-2"), deps).outcome.value for i in range(runs)]
        wall = time.monotonic() - started
    finally:
        run_sync.KIND_FACTORIES.clear()
        run_sync.KIND_FACTORIES.update(saved)
    per = {k: round((v - before.get(k, 0)) / runs, 3) for k, v in counter.counts.items()}
    return {
        "runs": runs,
        "kinds": 3,
        "outcomes": sorted(set(outcomes)),
        "emulator_wall_s_per_run": round(wall / runs, 4),
        "firestore_per_run": per,
    }


def cost_model(fanout: dict[str, Any], worker: dict[str, Any]) -> dict[str, Any]:
    """USD per connected user-month at 5-minute polling from the measured counts and the list prices."""
    p = {k: v["usd"] for k, v in PRICES.items()}
    w = worker["firestore_per_run"]
    reads = fanout["firestore_reads_per_connection"] + w.get(READS, 0)
    writes = fanout["firestore_writes_per_connection"] + w.get(WRITES, 0)
    per_run = {
        "firestore_reads": reads,
        "firestore_writes": writes,
        "firestore_deletes": 1,  # the run-log entry expires through TTL after 30 days
        "cloud_tasks_operations": 2,  # create + one delivery attempt
        "secret_accesses": 1,  # SecretManagerVault reads the token once per run unless cached on the instance
        "worker_requests": 1,
        "worker_vcpu_seconds": ASSUMED_QUIET_RUN_SECONDS * WORKER_VCPU / WORKER_CONCURRENCY,
        "worker_gib_seconds": ASSUMED_QUIET_RUN_SECONDS * WORKER_GIB / WORKER_CONCURRENCY,
        "fanout_vcpu_seconds": 1 / fanout["enqueued_per_s"],  # one fan-out instance, serial per connection
    }
    usd = {
        "firestore": RUNS_PER_MONTH
        * (reads * p["firestore_read"] + writes * p["firestore_write"] + p["firestore_delete"]),
        "cloud_tasks": RUNS_PER_MONTH * 2 * p["cloud_tasks_operation"],
        "secret_manager": RUNS_PER_MONTH * p["secret_access"] + p["secret_version_month"],
        "functions": RUNS_PER_MONTH
        * (
            p["run_request"]
            + (per_run["worker_vcpu_seconds"] + per_run["fanout_vcpu_seconds"]) * p["run_vcpu_second"]
            + per_run["worker_gib_seconds"] * p["run_gib_second"]
        ),
    }
    total = sum(usd.values())
    return {
        "runs_per_month": RUNS_PER_MONTH,
        "per_run": {k: round(v, 4) for k, v in per_run.items()},
        "usd_per_user_month": {k: round(v, 4) for k, v in usd.items()},
        "usd_per_user_month_total": round(total, 4),
        "usd_per_1000_users_month": round(total * 1000, 2),
        "excluded": "free tiers, network egress, Cloud Logging, Cloud Scheduler ($0.10/job/month), storage; "
        "Google and CRM API calls (quota, not billed)",
        "assumptions": {
            "quiet_run_seconds": ASSUMED_QUIET_RUN_SECONDS,
            "worker": f"{WORKER_VCPU} vCPU, {WORKER_GIB} GiB, concurrency {WORKER_CONCURRENCY} (terraform defaults)",
            "firestore_location": "regional US (multi-region nam5 doubles the Firestore line)",
        },
        "prices": PRICES,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="10000,100000", help="comma-separated numbers of due connections")
    parser.add_argument("--enqueue-latency-ms", type=float, default=0.0)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--worker-runs", type=int, default=50)
    parser.add_argument(
        "--all-variants-max",
        type=int,
        default=10_000,
        help="largest size ticked in every variant (larger: sharded only)",
    )
    # The emulator scans its whole collection for every query (production serves a query from its index), so
    # here the fewest, largest pages win; and on 2 cores the emulator and the client share the CPU.
    parser.add_argument("--page-size", type=int, default=10_000, help="fan-out page size (CRMSYNC_FANOUT_PAGE_SIZE)")
    parser.add_argument("--partitions", type=int, default=4, help="shards paged at once (CRMSYNC_FANOUT_PARTITIONS)")
    parser.add_argument("--backfill-size", type=int, default=10_000, help="legacy documents backfilled (0: skip)")
    parser.add_argument("--contacts-bench-json", help="output of bench.contacts_bench, shown next to the worker counts")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    host, stop = start_firestore_emulator()
    try:
        ticks = []
        for n in sizes:
            variants = ["unsharded", "sharded"] if n <= args.all_variants_max else ["sharded"]
            ticks += bench_fanout(
                host, n, variants, args.enqueue_latency_ms, args.concurrency, args.page_size, args.partitions
            )
        backfill = bench_backfill(host, args.backfill_size) if args.backfill_size else None
        worker = bench_worker_run(host, args.worker_runs)
    finally:
        stop()
    out: dict[str, Any] = {
        "benchmark": "fanout",
        "firestore": "official emulator",
        "ticks": ticks,
        "shard_backfill": backfill,
        "worker_quiet_run": worker,
    }
    if args.contacts_bench_json:
        with open(args.contacts_bench_json) as fh:
            contacts = json.load(fh)
        quiet = next((r for r in contacts["results"] if r["scenario"] == "c_no_change"), None)
        out["contacts_bench_quiet_sync_firestore"] = quiet and quiet["firestore"]
    sharded = [t for t in ticks if t["variant"] == "sharded"]
    out["cost"] = cost_model(sharded[-1] if sharded else ticks[-1], worker)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
