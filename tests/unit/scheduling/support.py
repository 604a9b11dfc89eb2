"""A scheduling world on fakes: MemoryStore, in-memory vault and queue, and a contacts kind whose two
sides are FakeSides kept per connection (so syncs can be counted and records checked for duplicates)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
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
from crmsync.services.run_sync import GRANT_SCOPES, GoogleAccess, KindWiring, RunDeps
from crmsync.services.worker import SyncTask, WorkerDeps, WorkerSettings, WorkResult, handle_task
from crmsync.store.memory import MemoryStore
from crmsync.vault.data_keys import InMemoryDataKeys
from crmsync.vault.envelope import EnvelopeVault, InMemoryCiphertextStore
from tests.support.admin_rules import store_without_preview
from tests.support.fakes import FakeSide

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


class Clock:
    """A settable, thread-safe wall clock."""

    def __init__(self, now: datetime = NOW) -> None:
        self.now = now
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            return self.now

    def advance(self, **delta: float) -> None:
        with self._lock:
            self.now += timedelta(**delta)


class Mono:
    """A settable monotonic clock for run budgets."""

    def __init__(self) -> None:
        self.value = 0.0

    def __call__(self) -> float:
        return self.value


@dataclass
class Sides:
    crm: FakeSide
    google: FakeSide
    syncs: int = 0
    hook: Callable[[], None] | None = None  # runs when a sync lists Google changes


class HookedSide(FakeSide):
    """A FakeSide that runs a hook when listed (to act 'during' a run)."""

    hook: Callable[[], None] | None = None

    def list_changes(self, token: str | None) -> Any:
        if self.hook is not None:
            self.hook()
        return super().list_changes(token)


@dataclass
class World:
    """Everything a worker or fan-out talks to, all in memory."""

    clock: Clock = field(default_factory=Clock)
    mono: Mono = field(default_factory=Mono)
    store: MemoryStore = field(default_factory=MemoryStore)
    queue: MemoryTaskQueue = field(default_factory=MemoryTaskQueue)
    vault: EnvelopeVault = field(default_factory=lambda: EnvelopeVault(InMemoryCiphertextStore(), InMemoryDataKeys()))
    sides: dict[str, Sides] = field(default_factory=dict)
    settings: WorkerSettings = field(default_factory=lambda: WorkerSettings(budget_seconds=60))
    crm: FakeCrm = field(default_factory=FakeCrm)  # knows the CRM user of every connection made by connect()

    def __post_init__(self) -> None:
        store_without_preview(self.store)  # a first run syncs: the preview is not these tests' subject

    def deps(self) -> WorkerDeps:
        google = GoogleAccess(Endpoint("http://127.0.0.1:9"), "cid", "csecret")
        run = RunDeps(store=self.store, crm=self.crm, google=google, clock=self.clock)
        return WorkerDeps(self.store, self.vault, self.queue, run, self.settings, monotonic=self.mono)

    def connect(self, cid: str, *, records: int = 3, due: datetime | None = None, interval: int = 5) -> Connection:
        conn = Connection(
            id=cid,
            crm_user_id=f"u-{cid}",
            google_subject=f"sub-{cid}",
            google_email=f"{cid}@example.com",
            scopes=[GRANT_SCOPES[Kind.CONTACTS]],
            settings=SyncSettings(contacts=KindSettings(google_group=None), interval_minutes=interval),
            next_sync_at=due or self.clock(),
            created_at=NOW - timedelta(days=1),
        )
        # Again, in case the test put another store in (the other rules kept).
        store_without_preview(self.store, self.store.get_global_config())
        self.store.put_connection(conn)
        self.crm.add_user(f"{cid}@crm.example", f"User {cid}", user_id=f"u-{cid}")
        self.vault.put(cid, f"refresh-token-of-{cid}")
        crm, google = FakeSide(Kind.CONTACTS, prefix="c"), HookedSide(Kind.CONTACTS, prefix="g")
        for i in range(records):
            raw = {"given_name": f"P{i}", "family_name": cid, "emails": [{"value": f"p{i}@{cid}.example"}]}
            crm.put(canonical_contact(raw, default_region="DE"))
        self.sides[cid] = Sides(crm, google)
        return conn

    def deliver(self, cid: str, reason: str = "tick", task: str | None = "t-1", **extra: Any) -> WorkResult:
        body = {"connection_id": cid, "reason": reason, **({"task": task} if task else {}), **extra}
        return handle_task(SyncTask.parse(body), self.deps())

    def factory(
        self, conn: Connection, credentials: Any, deps: RunDeps, cursor: Cursor, counter: OpCounter
    ) -> KindWiring:
        sides = self.sides[conn.id]
        sides.syncs += 1
        sides.google.hook = sides.hook  # type: ignore[attr-defined]
        return KindWiring(sides.crm, sides.google, None)

    def google_dupes(self, cid: str) -> int:
        """Google records beyond one per CRM record."""
        return len(self.sides[cid].google.records) - len(self.sides[cid].crm.records)


def registered(world: World) -> Iterator[World]:
    """Register the world's contacts kind for the test, then put the real wiring back."""
    saved = dict(run_sync.KIND_FACTORIES)
    run_sync.register_kind(Kind.CONTACTS, world.factory)
    try:
        yield world
    finally:
        run_sync.KIND_FACTORIES.clear()
        run_sync.KIND_FACTORIES.update(saved)
