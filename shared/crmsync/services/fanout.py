"""The scheduler tick: one named sync task per due connection and slot, then move next_sync_at forward."""

from __future__ import annotations

import logging
import os
import random
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol, runtime_checkable

from crmsync.model.state import Connection
from crmsync.queue.port import TaskQueue
from crmsync.services.admin_config import load_admin_config
from crmsync.store.contract import MAX_BATCH_WRITES, ConnectionNotFound, Page, StateStore, chunked

log = logging.getLogger(__name__)
QUERY_ATTEMPTS = 3


@runtime_checkable
class BatchUpdater(Protocol):
    """A store that can set fields of many connections in batched commits (<= 500 writes each)."""

    def update_connections(self, fields_by_id: Mapping[str, dict[str, Any]]) -> None: ...


@dataclass(frozen=True)
class FanoutSettings:
    """How one tick pages, how many enqueues run at once, and how much jitter spreads the next run."""

    page_size: int = 500
    concurrency: int = 32  # Cloud Tasks has no batch create: one RPC per task, so run them in parallel
    jitter: float = 0.1  # next_sync_at = now + interval * (1 ± jitter)
    max_seconds: float = 90.0  # stop paging after this; the next tick continues where this one stopped

    def __post_init__(self) -> None:
        if not 1 <= self.page_size <= 10_000:
            raise ValueError(f"CRMSYNC_FANOUT_PAGE_SIZE must be 1-10000, got {self.page_size}")
        if not 1 <= self.concurrency <= 512:
            raise ValueError(f"CRMSYNC_FANOUT_CONCURRENCY must be 1-512, got {self.concurrency}")
        if not 0 <= self.jitter < 1:
            raise ValueError(f"CRMSYNC_FANOUT_JITTER must be in [0, 1), got {self.jitter}")
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
        )


@dataclass
class FanoutResult:
    """What one tick did."""

    due: int = 0
    enqueued: int = 0
    duplicates: int = 0  # a task of that slot already existed (a repeated tick)
    failed: int = 0  # enqueue failed: not rescheduled, so the next tick tries again
    rescheduled: int = 0
    pages: int = 0
    failed_pages: int = 0
    paused: bool = False
    truncated: bool = False  # stopped at max_seconds with more due connections left
    duration_s: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready counts."""
        return {**asdict(self), "duration_s": round(self.duration_s, 3)}


def interval_of(conn: Connection) -> timedelta:
    """The connection's polling interval."""
    return timedelta(minutes=conn.settings.interval_minutes)


def slot_name(connection_id: str, now: datetime, interval: timedelta) -> str:
    """The task name of this connection's slot (slot = floor(now / interval)): a repeated tick reuses it."""
    slot = int(now.timestamp() // interval.total_seconds())
    return f"{connection_id}-{slot}"


def next_sync_time(now: datetime, interval: timedelta, jitter: float, rng: random.Random) -> datetime:
    """now + interval, spread by ±jitter of the interval so connections do not bunch up on one tick."""
    return now + interval * (1 + rng.uniform(-jitter, jitter))


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
    if not load_admin_config(store).sync_enabled:
        result.paused = True
        return result
    now = clock()
    # The next page is fetched while this one is enqueued: decoding a page and creating its tasks overlap.
    with (
        ThreadPoolExecutor(1, thread_name_prefix="fanout-query") as reader,
        ThreadPoolExecutor(settings.concurrency, thread_name_prefix="fanout") as pool,
    ):
        page = _query(store, now, settings.page_size, None)
        while page is not None:
            result.pages += 1
            ahead = (
                reader.submit(_query, store, now, settings.page_size, page.next_cursor) if page.next_cursor else None
            )
            try:
                _process(page.items, store, queue, pool, now, settings, rng, result)
            except Exception:  # one bad page must not stop the tick; its connections stay due
                log.exception("fan-out page %d failed; continuing with the next page", result.pages)
                result.failed_pages += 1
            if ahead is None:
                break
            if time.monotonic() - started > settings.max_seconds:
                result.truncated = True
                ahead.cancel()
                break
            page = ahead.result()
        else:
            result.failed_pages += 1  # a query failed after its retries; the next tick starts over
    result.duration_s = time.monotonic() - started
    log.info("fan-out done", extra={"fanout": result.as_dict()})
    return result


def _query(store: StateStore, now: datetime, size: int, cursor: str | None) -> Page[Connection] | None:
    for attempt in range(1, QUERY_ATTEMPTS + 1):
        try:
            return store.due_connections(now, size, cursor)
        except Exception:
            log.warning("due-connections query failed (attempt %d of %d)", attempt, QUERY_ATTEMPTS, exc_info=True)
            time.sleep(0.2 * attempt)
    return None


def _process(
    items: Sequence[Connection],
    store: StateStore,
    queue: TaskQueue,
    pool: ThreadPoolExecutor,
    now: datetime,
    settings: FanoutSettings,
    rng: random.Random,
    result: FanoutResult,
) -> None:
    result.due += len(items)

    def enqueue(conn: Connection) -> bool | None:
        name = slot_name(conn.id, now, interval_of(conn))
        payload = {"connection_id": conn.id, "reason": "tick", "task": name}
        try:
            return queue.enqueue(conn.id, name=name, payload=payload)
        except Exception:
            log.warning("enqueue failed for connection %s", conn.id, exc_info=True)
            return None

    outcomes = list(pool.map(enqueue, items))
    moves: dict[str, dict[str, Any]] = {}
    for conn, outcome in zip(items, outcomes, strict=True):
        if outcome is None:
            result.failed += 1
            continue
        result.enqueued += int(outcome)
        result.duplicates += int(not outcome)
        moves[conn.id] = {"next_sync_at": next_sync_time(now, interval_of(conn), settings.jitter, rng)}
    result.rescheduled += _reschedule(store, moves, pool)


def _reschedule(store: StateStore, moves: dict[str, dict[str, Any]], pool: ThreadPoolExecutor) -> int:
    """Write the new next_sync_at values: batched commits when the store can, else one update each in parallel."""
    if isinstance(store, BatchUpdater):
        for chunk in chunked(list(moves), MAX_BATCH_WRITES):
            store.update_connections({cid: moves[cid] for cid in chunk})
        return len(moves)

    def one(cid: str) -> int:
        try:
            store.update_connection(cid, moves[cid])
        except ConnectionNotFound:
            return 0  # disconnected and deleted since the query
        return 1

    return sum(pool.map(one, list(moves)))
