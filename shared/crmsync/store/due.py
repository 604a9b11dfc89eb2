"""The fan-out's view of connections: a stable shard per connection, the projected due listing, and
the one-time backfill of the shard field on documents written before it existed.

``due_shard`` is a store-only field (the Connection model does not carry it): both stores add it to
every connection document they write, derived from the connection id, so a shard never changes and
needs no read. Firestore cannot query for a missing field, so documents written before the field
existed are found by a backfill that pages through all connections (resumable, its position kept in
``config/due_shards``); until it has finished once, the tick pages the unsharded query instead. The
sweep is repeated daily, a page per tick, so a document that lost its shard anyway (written by an older
instance during a rolling deploy, restored from a backup) is found within a day.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from crmsync.model.state import ConnectionStatus

from .codec import SHARD_FIELD, Doc, check_aware, check_doc_id, decode_page_cursor, encode_page_cursor, from_value
from .contract import MAX_BATCH_WRITES, DueConnection, Page, StoreError, check_limit
from .queries import CONNECTION_SHARDS, DUE_CONNECTIONS_BY_SHARD
from .spec import Spec

DUE_SHARDS = 16  # changing it makes every stored shard stale: the backfill runs again and rewrites them
MIGRATION_DOC_ID = "due_shards"  # config/due_shards: {"shards", "done", "after": id | None, "swept_at"}
RESWEEP_AFTER = timedelta(days=1)
SWEEP_PAGE = MAX_BATCH_WRITES - 1  # a page's shard writes and the marker fit one batch
DEFAULT_INTERVAL_MINUTES = 5


def due_shard(connection_id: str) -> int:
    """The connection's shard in [0, DUE_SHARDS): a hash of its id, so it is stable and evenly spread."""
    digest = hashlib.sha256(connection_id.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % DUE_SHARDS


def with_shard(connection_id: str, doc: Doc) -> Doc:
    """A connection document (or partial update) with its shard field set."""
    return {**doc, SHARD_FIELD: due_shard(connection_id)}


def check_shard(shard: int) -> int:
    """Return a valid shard number or raise StoreError."""
    if isinstance(shard, bool) or not isinstance(shard, int) or not 0 <= shard < DUE_SHARDS:
        raise StoreError(f"shard must be an integer from 0 to {DUE_SHARDS - 1}, got {shard!r}")
    return shard


def due_shard_spec(now: datetime, shard: int, page_size: int, start_after: str | None) -> Spec:
    """Active connections of one shard due at ``now``, oldest first, projected (DUE_CONNECTIONS_BY_SHARD)."""
    after = decode_page_cursor(start_after) if start_after is not None else None
    return Spec(
        DUE_CONNECTIONS_BY_SHARD,
        {"status": ConnectionStatus.ACTIVE.value, SHARD_FIELD: check_shard(shard)},
        at_most=check_aware("now", now),
        after=after,
        limit=check_limit("page_size", page_size),
    )


def due_page(rows: list[tuple[str, Doc]], spec: Spec) -> Page[DueConnection]:
    """A page of the projected due listing; a full page carries the cursor of its last row."""
    items = []
    for doc_id, doc in rows:
        when = from_value(doc.get("next_sync_at"))
        if not isinstance(when, datetime):
            raise StoreError(f"connections/{doc_id}: next_sync_at is {when!r}, not a timestamp")
        interval = doc.get("settings", {}).get("interval_minutes", DEFAULT_INTERVAL_MINUTES)
        quiet = doc.get("quiet_runs", 0)  # absent on documents written before adaptive polling
        items.append(DueConnection(doc_id, when, int(interval), int(quiet)))
    full = spec.limit is not None and len(rows) == spec.limit
    next_cursor = encode_page_cursor(items[-1].next_sync_at, items[-1].id) if full and items else None
    return Page(items=items, next_cursor=next_cursor)


def shards_spec(after: str | None, limit: int) -> Spec:
    """A page of all connections in id order, only their shard field (CONNECTION_SHARDS)."""
    position = (check_doc_id("backfill position", after),) if after is not None else None
    return Spec(CONNECTION_SHARDS, {}, after=position, limit=check_limit("limit", limit, SWEEP_PAGE))


def stale_shards(rows: list[tuple[str, Doc]]) -> dict[str, int]:
    """Connection id -> shard, for the rows whose stored shard is missing or not the current one."""
    return {doc_id: due_shard(doc_id) for doc_id, doc in rows if doc.get(SHARD_FIELD) != due_shard(doc_id)}


def migration_done(doc: Doc | None) -> bool:
    """Whether a sweep has given every connection document its current shard at least once."""
    return bool(doc and doc.get("done") and doc.get("shards") == DUE_SHARDS)


def sweep_due(doc: Doc | None, now: datetime) -> bool:
    """Whether a sweep is unfinished, or the last one ended RESWEEP_AFTER or longer ago."""
    if not migration_done(doc) or not doc or doc.get("after"):
        return True
    swept_at = from_value(doc.get("swept_at"))
    return not isinstance(swept_at, datetime) or now - swept_at >= RESWEEP_AFTER


def migration_position(doc: Doc | None) -> str | None:
    """Where an unfinished sweep stopped (None: at the start)."""
    if not doc or doc.get("shards") != DUE_SHARDS:
        return None
    after = doc.get("after")
    return after if isinstance(after, str) and after else None


def migration_doc(previous: Doc | None, rows: list[tuple[str, Doc]], limit: int, now: datetime) -> Doc:
    """The sweep's state after handling one page of at most ``limit`` rows."""
    finished = len(rows) < limit
    done_before = migration_done(previous)
    swept_at: datetime | None = None
    if finished:
        swept_at = check_aware("now", now)
    elif previous and done_before:
        swept_at = previous.get("swept_at")
    return {
        "shards": DUE_SHARDS,
        "done": finished or done_before,
        "after": None if finished else rows[-1][0],
        "swept_at": swept_at,
    }
