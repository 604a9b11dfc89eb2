"""Fan-out benchmark (issues 6, 16): one scheduler tick over 10,000 and 100,000 due connections on the
official Firestore emulator with a recording queue, the Firestore operations of each kind of worker run
counted on the wire (bench.quiet_run), a connection's runs a day under adaptive polling
(bench.polling_day), and from those counts the cost per connected user-month and the plan for
1,000,000 connections per deployment (bench.cost_model).

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
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from google.cloud import firestore

from bench import cost_model, polling_day, quiet_run
from crmsync.ports import OpCounter
from crmsync.services.fanout import FanoutSettings, fan_out
from crmsync.store.codec import connection_to_doc
from crmsync.store.contract import COMMITS, MAX_BATCH_WRITES, QUERIES, READS, WRITES
from crmsync.store.due import DUE_SHARDS, MIGRATION_DOC_ID, SWEEP_PAGE, with_shard
from crmsync.store.firestore import FirestoreStore
from crmsync.store.queries import CONNECTIONS
from crmsync.store.rules import CONFIG
from infra.firestore_emulator import new_firestore_client, start_firestore_emulator

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def _tick_at(i: int) -> datetime:
    """The clock of the i-th tick: 6 minutes apart."""
    return NOW + timedelta(minutes=6 * i)


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
            doc = connection_to_doc(quiet_run.bench_connection(cid, NOW - timedelta(seconds=i % 600)))
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
        cpu = time.process_time()  # this process only: the emulator is another (java) process
        result = fan_out(store, queue, partial(_tick_at, i), settings)
        cpu = time.process_time() - cpu
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
                # the fan-out's own CPU per connection (query decoding, enqueue calls, reschedule batches):
                # what one fan-out instance spends where production's Firestore answers from its index
                "fanout_cpu_us_per_connection": round(cpu / n * 1e6, 1),
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
        runs = quiet_run.measure(host, args.worker_runs)
    finally:
        stop()
    days = {n: polling_day.day_profile(n) for n in (0, 5, 20)}
    sharded = [t for t in ticks if t["variant"] == "sharded"]
    big = sharded[-1] if sharded else ticks[-1]
    typical = cost_model.typical_user(runs["rounds"], big, days[20])
    out: dict[str, Any] = {
        "benchmark": "fanout",
        "firestore": "official emulator",
        "ticks": ticks,
        "shard_backfill": backfill,
        "worker_runs": runs,
        "adaptive_polling_days": list(days.values()),
        "cost": {
            "typical_user_20_changes_a_day": typical,
            "quiet_user": cost_model.typical_user(runs["rounds"], big, days[0]),
            "user_5_changes_a_day": cost_model.typical_user(runs["rounds"], big, days[5]),
            "typical_users_100000": cost_model.at_scale(typical, 100_000),
            "assumptions": {
                "run_seconds": cost_model.ASSUMED_QUIET_RUN_SECONDS,
                "worker": f"{cost_model.WORKER_VCPU} vCPU, {cost_model.WORKER_GIB} GiB, concurrency "
                f"{cost_model.WORKER_CONCURRENCY} (terraform defaults)",
                "vault": "envelope (the default): no Secret Manager access per run",
                "firestore_location": "regional US (multi-region nam5 doubles the Firestore line)",
            },
            "excluded": "free tiers, network egress, Cloud Logging, storage; Google and CRM API calls "
            "(quota, not billed)",
            "prices": cost_model.PRICES,
        },
        "million": cost_model.million_plan(big, runs["rounds"], days[20]),
    }
    if args.contacts_bench_json:
        with open(args.contacts_bench_json) as fh:
            contacts = json.load(fh)
        quiet = next((r for r in contacts["results"] if r["scenario"] == "c_no_change"), None)
        out["contacts_bench_quiet_sync_firestore"] = quiet and quiet["firestore"]
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
