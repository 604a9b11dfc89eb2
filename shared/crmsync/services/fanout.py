"""The scheduler tick: one named sync task per due connection and due time, then move next_sync_at forward.

The due set is split into DUE_SHARDS disjoint shards (store/due.py) paged in parallel with a projected
listing; until the store's one-time shard backfill has finished, the tick pages one unsharded listing.
"""

from __future__ import annotations

import logging
import os
import random
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, TypeVar

from crmsync.model.state import Connection
from crmsync.queue.port import TaskQueue
from crmsync.services.admin_config import load_admin_config
from crmsync.services.polling import PollingBounds, poll_interval
from crmsync.services.sync_task import SyncTask
from crmsync.store.contract import MAX_BATCH_WRITES, DueConnection, Page, StateStore, chunked
from crmsync.store.due import DUE_SHARDS

log = logging.getLogger(__name__)
QUERY_ATTEMPTS = 3
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
T = TypeVar("T")


@dataclass(frozen=True)
class FanoutSettings:
    """How one tick pages, how many enqueues run at once, and how much jitter spreads the next run."""

    page_size: int = 500
    concurrency: int = 32  # Cloud Tasks has no batch create: one RPC per task, so run them in parallel
    jitter: float = 0.1  # next_sync_at = now + interval * (1 ± jitter)
    max_seconds: float = 90.0  # stop paging after this; the next tick continues where this one stopped
    partitions: int = 8  # shards paged at once (threads); each shard is paged in order by one of them

    def __post_init__(self) -> None:
        if not 1 <= self.page_size <= 10_000:
            raise ValueError(f"CRMSYNC_FANOUT_PAGE_SIZE must be 1-10000, got {self.page_size}")
        if not 1 <= self.concurrency <= 512:
            raise ValueError(f"CRMSYNC_FANOUT_CONCURRENCY must be 1-512, got {self.concurrency}")
        if not 0 <= self.jitter < 1:
            raise ValueError(f"CRMSYNC_FANOUT_JITTER must be in [0, 1), got {self.jitter}")
        if not 1 <= self.partitions <= DUE_SHARDS:
            raise ValueError(f"CRMSYNC_FANOUT_PARTITIONS must be 1-{DUE_SHARDS}, got {self.partitions}")
        if self.max_seconds <= 0:
            raise ValueError(f"CRMSYNC_FANOUT_MAX_SECONDS must be positive, got {self.max_seconds}")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> FanoutSettings:
        """Read CRMSYNC_FANOUT_* variables (all optional)."""
        env = os.environ if env is None else env

        def num(name: str, default: float) -> float:
            raw = (env.get(name) or "").strip()
            try:
                return float(raw) if raw else default
            except ValueError:
                raise ValueError(f"{name} must be a number, got {raw!r}") from None

        return cls(
            page_size=int(num("CRMSYNC_FANOUT_PAGE_SIZE", 500)),
            concurrency=int(num("CRMSYNC_FANOUT_CONCURRENCY", 32)),
            jitter=num("CRMSYNC_FANOUT_JITTER", 0.1),
            max_seconds=num("CRMSYNC_FANOUT_MAX_SECONDS", 90.0),
            partitions=int(num("CRMSYNC_FANOUT_PARTITIONS", 8)),
        )


@dataclass
class FanoutResult:
    """What one tick did."""

    due: int = 0
    enqueued: int = 0
    duplicates: int = 0  # a task of that due time already existed (a repeated tick)
    failed: int = 0  # enqueue failed: not rescheduled, so the next tick tries again
    rescheduled: int = 0
    pages: int = 0
    failed_pages: int = 0
    paused: bool = False
    truncated: bool = False  # stopped at max_seconds with more due connections left
    sharded: bool = False  # paged the shards in parallel (False: one unsharded listing, shards not yet backfilled)
    duration_s: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready counts."""
        return {**asdict(self), "duration_s": round(self.duration_s, 3)}

    def add(self, other: FanoutResult) -> None:
        """Add the counts of a part of the tick (one shard) to this result."""
        for f in fields(self):
            mine, theirs = getattr(self, f.name), getattr(other, f.name)
            if isinstance(mine, bool):
                setattr(self, f.name, mine or theirs)
            elif f.name != "duration_s":
                setattr(self, f.name, mine + theirs)


def due_task_name(connection_id: str, due: datetime) -> str:
    """The task name of the run that serves this due time (to the microsecond): a repeated tick that finds the
    same due time (its reschedule was lost) reuses it, and every new due time gets a new name. A name by
    ``floor(now / interval)`` slot could collide with the previous run's slot when jitter put the due time
    early, and that poll was skipped."""
    micros = (due - _EPOCH) // timedelta(microseconds=1)
    return f"{connection_id}-due-{micros}"


def next_sync_time(now: datetime, interval: timedelta, jitter: float, rng: random.Random) -> datetime:
    """now + interval, spread by ±jitter of the interval so connections do not bunch up on one tick."""
    return now + interval * (1 + rng.uniform(-jitter, jitter))


@dataclass(frozen=True)
class _Tick:
    """What every part of one tick shares."""

    store: StateStore
    queue: TaskQueue
    pool: ThreadPoolExecutor  # the enqueue RPCs of all parts
    now: datetime
    settings: FanoutSettings
    deadline: float  # time.monotonic() after which no further page is fetched
    bounds: PollingBounds  # the admin's polling bounds, read once per tick


def fan_out(
    store: StateStore,
    queue: TaskQueue,
    clock: Callable[[], datetime],
    settings: FanoutSettings = FanoutSettings(),
    rng: random.Random | None = None,
) -> FanoutResult:
    """Page through due connections, enqueue one named task each, move their next_sync_at forward."""
    started = time.monotonic()
    result = FanoutResult()
    rng = rng or random.Random()
    admin = load_admin_config(store)
    if not admin.sync_enabled:
        result.paused = True
        return result
    now = clock()
    with ThreadPoolExecutor(settings.concurrency, thread_name_prefix="fanout") as pool:
        tick = _Tick(store, queue, pool, now, settings, started + settings.max_seconds, admin.polling)
        if _shards_ready(store):
            result.sharded = True
            for part in _sharded(tick, rng):
                result.add(part)
        else:
            result.add(_unsharded(tick, rng))
        _backfill(store, now, tick.deadline)
    result.duration_s = time.monotonic() - started
    log.info("fan-out done", extra={"fanout": result.as_dict()})
    return result


def _shards_ready(store: StateStore) -> bool:
    try:
        return store.due_shards_ready()
    except Exception:  # the unsharded listing finds every due connection, so it is the safe way on
        log.warning("could not read the due-shard migration state; paging unsharded", exc_info=True)
        return False


def _sharded(tick: _Tick, rng: random.Random) -> list[FanoutResult]:
    """Page every shard, ``partitions`` of them at once; a shard that fails does not stop the others."""
    seeds = [rng.getrandbits(64) for _ in range(DUE_SHARDS)]
    with ThreadPoolExecutor(tick.settings.partitions, thread_name_prefix="fanout-shard") as readers:
        futures = [readers.submit(_drain_shard, tick, shard, random.Random(seed)) for shard, seed in enumerate(seeds)]
        return [f.result() for f in futures]


def _drain_shard(tick: _Tick, shard: int, rng: random.Random) -> FanoutResult:
    part = FanoutResult()
    cursor: str | None = None
    while True:
        page = _attempt(partial(tick.store.due_listing, tick.now, shard, tick.settings.page_size, cursor))
        if page is None:
            part.failed_pages += 1  # its query failed after retries; the next tick starts this shard over
            return part
        part.pages += 1
        try:
            _process(page.items, tick, rng, part)
        except Exception:  # one bad page must not stop the tick; its connections stay due
            log.exception("fan-out page %d of shard %d failed; continuing", part.pages, shard)
            part.failed_pages += 1
        if page.next_cursor is None:
            return part
        if time.monotonic() > tick.deadline:
            part.truncated = True
            return part
        cursor = page.next_cursor


def _unsharded(tick: _Tick, rng: random.Random) -> FanoutResult:
    """The single listing over all due connections (full documents), the next page fetched ahead."""
    part = FanoutResult()
    store, size = tick.store, tick.settings.page_size

    def fetch(cursor: str | None) -> Page[Connection] | None:
        return _attempt(lambda: store.due_connections(tick.now, size, cursor))

    with ThreadPoolExecutor(1, thread_name_prefix="fanout-query") as reader:
        page = fetch(None)
        while page is not None:
            part.pages += 1
            ahead = reader.submit(fetch, page.next_cursor) if page.next_cursor else None
            try:
                _process([DueConnection.of(c) for c in page.items], tick, rng, part)
            except Exception:  # one bad page must not stop the tick; its connections stay due
                log.exception("fan-out page %d failed; continuing with the next page", part.pages)
                part.failed_pages += 1
            if ahead is None:
                break
            if time.monotonic() > tick.deadline:
                part.truncated = True
                ahead.cancel()
                break
            page = ahead.result()
        else:
            part.failed_pages += 1  # a query failed after its retries; the next tick starts over
    return part


def _backfill(store: StateStore, now: datetime, deadline: float) -> None:
    """Sweep connection documents for missing shards when a sweep is due: at least one page per tick."""
    try:
        while not store.backfill_due_shards(now) and time.monotonic() < deadline:
            pass
    except Exception:  # resumable: the next tick goes on from the last page written
        log.warning("due-shard backfill failed; the next tick goes on", exc_info=True)


def _attempt(call: Callable[[], T]) -> T | None:
    for attempt in range(1, QUERY_ATTEMPTS + 1):
        try:
            return call()
        except Exception:
            log.warning("due-connections query failed (attempt %d of %d)", attempt, QUERY_ATTEMPTS, exc_info=True)
            time.sleep(0.2 * attempt)
    return None


def _process(items: Sequence[DueConnection], tick: _Tick, rng: random.Random, result: FanoutResult) -> None:
    result.due += len(items)

    def interval(conn: DueConnection) -> timedelta:
        return poll_interval(conn.interval_minutes, conn.quiet_runs, tick.bounds)

    def enqueue(conn: DueConnection) -> bool | None:
        name = due_task_name(conn.id, conn.next_sync_at)
        try:
            return tick.queue.enqueue(conn.id, name=name, payload=SyncTask(conn.id, "tick", name).body())
        except Exception:
            log.warning("enqueue failed for connection %s", conn.id, exc_info=True)
            return None

    outcomes = list(tick.pool.map(enqueue, items))
    moves: dict[str, dict[str, Any]] = {}
    for conn, outcome in zip(items, outcomes, strict=True):
        if outcome is None:
            result.failed += 1
            continue
        result.enqueued += int(outcome)
        result.duplicates += int(not outcome)
        moves[conn.id] = {"next_sync_at": next_sync_time(tick.now, interval(conn), tick.settings.jitter, rng)}
    result.rescheduled += _reschedule(tick.store, moves)


def _reschedule(store: StateStore, moves: dict[str, dict[str, Any]]) -> int:
    """Write the new next_sync_at values in batched commits."""
    for chunk in chunked(list(moves), MAX_BATCH_WRITES):
        store.update_connections({cid: moves[cid] for cid in chunk})
    return len(moves)
