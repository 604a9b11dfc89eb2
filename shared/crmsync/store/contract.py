"""What every state store offers (Firestore, SQLite and the in-memory store), and its errors and limits."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Generic, Protocol, TypeVar

from crmsync.model.state import Connection, ConnectionStatus
from crmsync.ports import LinkStore

from .watch_port import WatchChannelStore

T = TypeVar("T")

MAX_BATCH_WRITES = 500  # Firestore rejects a batch or transaction with more writes
MAX_IN_VALUES = 30  # Firestore's limit of values in one `in` filter
GET_ALL_CHUNK = 300  # refs per BatchGetDocuments call (keeps each response small)
SCAN_PAGE = 1000  # documents per page when streaming a whole collection
COUNT_ENTRIES_PER_READ = 1000  # an aggregation is billed one read per 1,000 index entries

# Counter names in OpCounter.counts, billed the way Firestore bills them.
READS = "firestore.reads"
WRITES = "firestore.writes"
DELETES = "firestore.deletes"
QUERIES = "firestore.queries"
COMMITS = "firestore.commits"


class StoreError(Exception):
    """A state store operation failed because of bad input or stored data that does not fit."""


class ConnectionNotFound(StoreError):
    """The connection document does not exist."""


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a listing; pass ``next_cursor`` as ``start_after`` to get the next (None: last page)."""

    items: list[T]
    next_cursor: str | None


@dataclass(frozen=True)
class Leased:
    """What ``lease_connection`` found and did, in one transaction."""

    connection: Connection | None  # as read (with the new lease when taken); None: there is no such connection
    taken: bool  # the lease is now the holder's (False: another live lease, or ``admit`` refused the connection)


@dataclass(frozen=True)
class DueConnection:
    """What one fan-out tick needs of a due connection (``StateStore.due_listing``; shards: store/due.py)."""

    id: str
    next_sync_at: datetime
    interval_minutes: int
    quiet_runs: int = 0  # complete runs in a row that found nothing (adaptive polling)

    @classmethod
    def of(cls, conn: Connection) -> DueConnection:
        """The due view of a full connection (which must have a next_sync_at)."""
        assert conn.next_sync_at is not None, "a due connection has a next_sync_at"
        return cls(conn.id, conn.next_sync_at, conn.settings.interval_minutes, conn.quiet_runs)


class StateStore(WatchChannelStore, Protocol):
    """Connections, their links/cursors, leases, run log, OAuth states, nonces, global config and
    Calendar push channels (store/watch.py)."""

    def connection_store(self, connection_id: str) -> LinkStore:
        """The links and cursors of one connection."""
        ...

    def get_connection(self, connection_id: str) -> Connection | None:
        """The connection, or None if there is none."""
        ...

    def put_connection(self, connection: Connection) -> None:
        """Create or replace the connection document."""
        ...

    def update_connection(self, connection_id: str, fields: dict[str, Any]) -> None:
        """Set top-level fields of an existing connection (validated against the model)."""
        ...

    def update_connections(self, fields_by_id: Mapping[str, dict[str, Any]]) -> None:
        """Set top-level fields of many existing connections, in commits of at most MAX_BATCH_WRITES
        (the fan-out moves each tick's due connections forward with it)."""
        ...

    def find_connection_by_crm_user(self, crm_user_id: str) -> Connection | None:
        """The connection of a CRM user (the oldest, if several), or None."""
        ...

    def find_connections_by_google_subject(self, subject: str, limit: int = 10) -> list[Connection]:
        """Connections joined to one Google account (its OpenID subject), any status, at most ``limit``."""
        ...

    def claim_google_account(self, subject: str, connection_id: str, now: datetime) -> bool:
        """Make ``connection_id`` the one connection of a Google account, atomically; False if another
        live connection holds it (see ``store.claims``)."""
        ...

    def release_google_account(self, subject: str, connection_id: str) -> None:
        """Drop the account's claim if ``connection_id`` holds it."""
        ...

    def list_connections(
        self, status: ConnectionStatus | None = None, limit: int = 100, start_after: str | None = None
    ) -> Page[Connection]:
        """Connections newest first, optionally only those with one status."""
        ...

    def due_connections(self, now: datetime, page_size: int = 500, start_after: str | None = None) -> Page[Connection]:
        """Active connections with next_sync_at <= now, oldest due first."""
        ...

    def due_listing(
        self, now: datetime, shard: int, page_size: int = 500, start_after: str | None = None
    ) -> Page[DueConnection]:
        """One of the DUE_SHARDS disjoint shards of the connections due at ``now`` (store/due.py), oldest
        first, with only the fields the fan-out needs."""
        ...

    def due_shards_ready(self) -> bool:
        """Whether every connection document carries its shard, so the sharded listing misses none."""
        ...

    def backfill_due_shards(self, now: datetime, limit: int = ...) -> bool:
        """Sweep the next ``limit`` connections (at most store.due.SWEEP_PAGE), writing stale or missing
        shards when a sweep is due; True when none is due."""
        ...

    def delete_connection_data(self, connection_id: str) -> int:
        """Delete links, cursors and the token blob of a connection; returns documents deleted."""
        ...

    def acquire_lease(self, connection_id: str, holder: str, ttl: timedelta, now: datetime) -> bool:
        """Take or extend the lease; False if another holder's lease is still live."""
        ...

    def lease_connection(
        self,
        connection_id: str,
        holder: str,
        ttl: timedelta,
        now: datetime,
        admit: Callable[[Connection], bool] | None = None,
    ) -> Leased:
        """Read the connection and take (or extend) the lease if ``admit(connection)`` holds and no other
        live lease is in the way: one transaction, one document read, one write when taken."""
        ...

    def release_lease(self, connection_id: str, holder: str) -> bool:
        """Drop the lease if ``holder`` holds it; True if it did."""
        ...

    def finish_run(self, connection_id: str, holder: str, fields: dict[str, Any], *, take_rerun: bool) -> bool:
        """Set ``fields`` of the connection, drop ``holder``'s lease and, with ``take_rerun``, clear the rerun
        flag: one transaction, one read, one write. True if a rerun was asked for (and is now taken)."""
        ...

    def request_rerun(self, connection_id: str) -> None:
        """Ask for another run after the current one ("Sync now" during a run)."""
        ...

    def take_rerun(self, connection_id: str) -> bool:
        """Clear the rerun flag; True if it was set."""
        ...

    def append_run(self, connection_id: str, run_id: str, summary: dict[str, Any], expires_at: datetime) -> None:
        """Record a run summary (must hold a ``started_at`` datetime) in the run log."""
        ...

    def recent_runs(self, connection_id: str, limit: int = 20) -> list[dict[str, Any]]:
        """The latest run summaries, newest first."""
        ...

    def put_oauth_state(self, state_id: str, data: dict[str, Any], expires_at: datetime) -> None:
        """Store a short-lived OAuth state record."""
        ...

    def take_oauth_state(
        self, state_id: str, now: datetime, only_if: Callable[[dict[str, Any]], bool] | None = None
    ) -> dict[str, Any] | None:
        """Return the state and delete it (single use) unless ``only_if(state)`` is False, which leaves it
        in place (a state presented by the wrong browser stays usable by the right one); None if missing
        or expired."""
        ...

    def consume_nonce(self, nonce: str, expires_at: datetime) -> bool:
        """Record a nonce; False if it was seen before."""
        ...

    def get_blob(self, connection_id: str) -> bytes | None:
        """The encrypted refresh-token blob of a connection, or None."""
        ...

    def put_blob(self, connection_id: str, blob: bytes) -> None:
        """Store (replace) the encrypted refresh-token blob."""
        ...

    def delete_blob(self, connection_id: str) -> None:
        """Remove the blob; missing is fine."""
        ...

    def get_global_config(self) -> dict[str, Any]:
        """The admin/global configuration ({} if never stored)."""
        ...

    def put_global_config(self, config: dict[str, Any]) -> None:
        """Replace the admin/global configuration."""
        ...


def chunked(items: Sequence[T], size: int) -> list[Sequence[T]]:
    """Split a sequence into consecutive chunks of at most ``size``."""
    return [items[i : i + size] for i in range(0, len(items), size)]


def check_limit(name: str, value: int, maximum: int = 10_000) -> int:
    """Return a valid page size / limit or raise StoreError."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= maximum:
        raise StoreError(f"{name} must be an integer from 1 to {maximum}, got {value!r}")
    return value
