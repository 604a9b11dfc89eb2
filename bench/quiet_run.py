"""The Firestore operations of a scheduled run, counted on the wire (infra.firestore_ops) on the emulator.

One round is what production does every polling interval: a fan-out tick enqueues every due connection
and moves its next_sync_at, then the worker runs each task (three kinds, the envelope vault's sealed
token read from Firestore, the data key cached on the instance). Rounds, per connection or run:

- ``first_quiet``: the first run that finds nothing, after a first sync (a full listing);
- ``quiet``: a run that finds nothing after one that found nothing (most runs);
- ``changed``: a run in which one CRM contact of each connection was edited since the last run;
- ``after_change``: the run after it (it lists its own write on the Google side, and is logged).

Used by ``bench.fanout_bench`` (figures in bench/results/fanout_bench.json) and by the regression test
``tests/integration/scheduling/test_quiet_run_ops.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from crmsync.crm.fake import FakeCrm
from crmsync.google.client import Endpoint
from crmsync.model.contact import canonical_contact
from crmsync.model.cursor import Cursor
from crmsync.model.kinds import Kind
from crmsync.model.settings import KindSettings, SyncSettings
from crmsync.model.state import Connection
from crmsync.ports import OpCounter
from crmsync.queue.memory import MemoryTaskQueue
from crmsync.services import run_sync
from crmsync.services.fanout import FanoutSettings, fan_out
from crmsync.services.run_sync import GRANT_SCOPES, GoogleAccess, KindWiring, RunDeps
from crmsync.services.sync_task import SyncTask
from crmsync.services.worker import WorkerDeps, WorkerSettings, handle_task
from crmsync.store.firestore import FirestoreStore
from crmsync.vault.data_keys import InMemoryDataKeys
from crmsync.vault.envelope import EnvelopeVault
from infra.firestore_ops import counting_client
from tests.support.fakes import FakeSide

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
ROUND = timedelta(minutes=61)  # past the slowest polling interval: every connection is due each round


@dataclass
class _Sides:
    """Each connection's two sides of each kind, kept across runs (so a run can find a change)."""

    sides: dict[tuple[str, Kind], tuple[FakeSide, FakeSide]] = field(default_factory=dict)

    def __call__(
        self, conn: Connection, credentials: Any, deps: RunDeps, cursor: Cursor, counter: OpCounter
    ) -> KindWiring:
        crm, google = self.of(conn.id, cursor.kind)
        return KindWiring(crm, google, None)

    def of(self, cid: str, kind: Kind) -> tuple[FakeSide, FakeSide]:
        return self.sides.setdefault((cid, kind), (FakeSide(kind, prefix="c"), FakeSide(kind, prefix="g")))


@contextmanager
def _wired(sides: _Sides) -> Iterator[None]:
    saved = dict(run_sync.KIND_FACTORIES)
    for kind in Kind:
        run_sync.register_kind(kind, sides)
    try:
        yield
    finally:
        run_sync.KIND_FACTORIES.clear()
        run_sync.KIND_FACTORIES.update(saved)


def bench_connection(cid: str, due: datetime = NOW) -> Connection:
    """A connection of the benchmarks: every kind granted, due at ``due``."""
    return Connection(
        id=cid,
        crm_user_id=f"u-{cid}",
        google_subject=f"s-{cid}",
        google_email=f"{cid}@example.com",
        scopes=list(GRANT_SCOPES.values()),
        settings=SyncSettings(contacts=KindSettings(google_group=None)),
        next_sync_at=due,
        created_at=due - timedelta(days=30),
    )


def measure(host_port: str, connections: int = 20) -> dict[str, Any]:
    """Counted Firestore operations per connection (fan-out) and per run (worker), by round."""
    client, wire = counting_client(host_port)
    store = FirestoreStore(client)
    vault = EnvelopeVault(store, InMemoryDataKeys())
    clock = {"now": NOW}
    crm = FakeCrm()  # the worker checks the admin's connect policy for each connection's CRM user
    ids = [f"q{i:04d}" for i in range(connections)]
    # Steady-state runs of connections whose users started syncing: no preview before a first sync.
    store.put_global_config({"preview_first_sync": False})
    for cid in ids:
        crm.add_user(f"{cid}@crm.example", f"User {cid}", user_id=f"u-{cid}")
        store.put_connection(bench_connection(cid))
        vault.put(cid, f"refresh-token-of-{cid}")
    while not store.backfill_due_shards(NOW):
        pass
    run = RunDeps(store, crm, GoogleAccess(Endpoint("http://127.0.0.1:9"), "c", "s"), lambda: clock["now"])
    deps = WorkerDeps(store, vault, MemoryTaskQueue(), run, WorkerSettings())
    sides = _Sides()
    rounds: dict[str, Any] = {}
    with _wired(sides):
        for name in ("first_sync", "first_quiet", "quiet", "changed", "after_change"):
            if name == "changed":
                for cid in ids:
                    raw = {"given_name": "Edited", "family_name": cid, "emails": [{"value": f"e@{cid}.example"}]}
                    sides.of(cid, Kind.CONTACTS)[0].put(canonical_contact(raw, default_region="DE"))
            queue = MemoryTaskQueue()
            before = wire.snapshot()
            tick = fan_out(store, queue, lambda: clock["now"], FanoutSettings())
            fanout = wire.since(before)
            before = wire.snapshot()
            outcomes = [handle_task(SyncTask.parse(t.payload), deps).outcome.value for t in queue.tasks]
            worker = wire.since(before)
            rounds[name] = {
                "enqueued": tick.enqueued,
                "outcomes": sorted(set(outcomes)),
                "fanout_per_connection": {k: round(v / connections, 3) for k, v in fanout.items()},
                "worker_per_run": {k: round(v / max(len(outcomes), 1), 3) for k, v in worker.items()},
            }
            clock["now"] += ROUND
    return {"connections": connections, "kinds": len(Kind), "counted": "gRPC calls on the wire", "rounds": rounds}
