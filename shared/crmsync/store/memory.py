"""An in-memory state store with FirestoreStore's interface, behaviour and operation counts.

Thread-safe; for unit tests and the local stack without Java. Transactions are a lock, so
leases, single-use OAuth states and nonces behave as they do in Firestore.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from crmsync.model.kinds import Kind
from crmsync.model.state import Connection, ConnectionStatus
from crmsync.ports import LinkStore, OpCounter

from .codec import (
    check_doc_id,
    connection_fields_to_doc,
    connection_from_doc,
    connection_to_doc,
    from_value,
)
from .contract import MAX_BATCH_WRITES, ConnectionNotFound, DueConnection, Leased, Page, StateStore
from .due import (
    MIGRATION_DOC_ID,
    SWEEP_PAGE,
    due_page,
    due_shard_spec,
    migration_doc,
    migration_done,
    migration_position,
    shards_spec,
    stale_shards,
    sweep_due,
    with_shard,
)
from .memory_links import CollectionPath, Documents, MemoryLinkStore
from .memory_signin import MemorySignIn
from .memory_watch import MemoryWatchChannels
from .queries import CONNECTIONS, LINKS, LINKS_OF_KIND, RUNS
from .rules import (
    CONFIG,
    CURSORS,
    GLOBAL_CONFIG_ID,
    SECRETS,
    by_crm_user_spec,
    by_google_subject_spec,
    check_config,
    check_lease_args,
    connection_page,
    due_spec,
    finish_step,
    lease_is_free,
    lease_step,
    listing_spec,
    run_doc,
    runs_spec,
)
from .spec import Meter, Spec

_CONNECTIONS: CollectionPath = (CONNECTIONS,)


class MemoryStore(MemoryWatchChannels, MemorySignIn):
    """Connection-level state in memory; ``connection_store(id)`` gives a connection's LinkStore."""

    def __init__(self, counter: OpCounter | None = None) -> None:
        self._docs = Documents()
        self._meter = Meter(counter)
        self.counter = self._meter.counter

    def _conn_id(self, connection_id: str) -> str:
        return check_doc_id("connection id", connection_id)

    # -- connections ---------------------------------------------------------------------------------------

    def connection_store(self, connection_id: str) -> MemoryLinkStore:
        """The links and cursors of one connection."""
        return MemoryLinkStore(self._docs, self._conn_id(connection_id), self._meter)

    def get_connection(self, connection_id: str) -> Connection | None:
        """The connection, or None if there is none."""
        self._meter.gets(1)
        doc = self._docs.get(_CONNECTIONS, self._conn_id(connection_id))
        return None if doc is None else connection_from_doc(doc, f"{CONNECTIONS}/{connection_id}")

    def put_connection(self, connection: Connection) -> None:
        """Create or replace the connection document."""
        doc = with_shard(connection.id, connection_to_doc(connection))
        self._docs.set(_CONNECTIONS, self._conn_id(connection.id), doc)
        self._meter.commit(writes=1)

    def update_connection(self, connection_id: str, fields: dict[str, Any]) -> None:
        """Set top-level fields of an existing connection (validated against the model)."""
        cid = self._conn_id(connection_id)
        changes = with_shard(connection_id, connection_fields_to_doc(connection_id, fields))
        with self._docs.lock:
            doc = self._require(cid)
            self._docs.set(_CONNECTIONS, cid, {**doc, **changes})
        self._meter.commit(writes=1)

    def update_connections(self, fields_by_id: Mapping[str, dict[str, Any]]) -> None:
        """Set top-level fields of many connections (commits of at most 500 writes, as Firestore)."""
        items = list(fields_by_id.items())
        for start in range(0, len(items), MAX_BATCH_WRITES):
            part = items[start : start + MAX_BATCH_WRITES]
            with self._docs.lock:
                for cid, fields in part:
                    doc = self._require(self._conn_id(cid))
                    self._docs.set(
                        _CONNECTIONS,
                        self._conn_id(cid),
                        {**doc, **with_shard(cid, connection_fields_to_doc(cid, fields))},
                    )
            self._meter.commit(writes=len(part))

    def _require(self, cid: str) -> dict[str, Any]:
        doc = self._docs.get(_CONNECTIONS, cid)
        if doc is None:
            raise ConnectionNotFound(f"connection {cid} does not exist")
        return doc

    def find_connection_by_crm_user(self, crm_user_id: str) -> Connection | None:
        """The connection of a CRM user (the first by id, if several), or None."""
        rows = self._docs.run(_CONNECTIONS, by_crm_user_spec(crm_user_id))
        self._meter.query(len(rows))
        return connection_from_doc(rows[0][1], f"{CONNECTIONS}/{rows[0][0]}") if rows else None

    def find_connections_by_google_subject(self, subject: str, limit: int = 10) -> list[Connection]:
        """Connections joined to one Google account (its OpenID subject), any status, at most ``limit``."""
        rows = self._docs.run(_CONNECTIONS, by_google_subject_spec(subject, limit))
        self._meter.query(len(rows))
        return [connection_from_doc(doc, f"{CONNECTIONS}/{cid}") for cid, doc in rows]

    def list_connections(
        self, status: ConnectionStatus | None = None, limit: int = 100, start_after: str | None = None
    ) -> Page[Connection]:
        """Connections newest first, optionally only those with one status."""
        spec = listing_spec(status, limit, start_after)
        rows = self._docs.run(_CONNECTIONS, spec)
        self._meter.query(len(rows))
        return connection_page(rows, spec, "created_at")

    def due_connections(self, now: datetime, page_size: int = 500, start_after: str | None = None) -> Page[Connection]:
        """Active connections with next_sync_at <= now, oldest due first."""
        spec = due_spec(now, page_size, start_after)
        rows = self._docs.run(_CONNECTIONS, spec)
        self._meter.query(len(rows))
        return connection_page(rows, spec, "next_sync_at")

    def due_listing(
        self, now: datetime, shard: int, page_size: int = 500, start_after: str | None = None
    ) -> Page[DueConnection]:
        """One shard of the active connections due at ``now``, oldest first, only the fields the tick needs."""
        spec = due_shard_spec(now, shard, page_size, start_after)
        rows = self._docs.run(_CONNECTIONS, spec)
        self._meter.query(len(rows))
        return due_page(rows, spec)

    def due_shards_ready(self) -> bool:
        """Whether every connection document carries its shard, so the sharded listing misses none."""
        self._meter.gets(1)
        return migration_done(self._docs.get((CONFIG,), MIGRATION_DOC_ID))

    def backfill_due_shards(self, now: datetime, limit: int = SWEEP_PAGE) -> bool:
        """Sweep the next ``limit`` connections, writing stale or missing shards; True when no sweep is due."""
        self._meter.gets(1)
        state = self._docs.get((CONFIG,), MIGRATION_DOC_ID)
        if not sweep_due(state, now):
            return True
        rows = self._docs.run(_CONNECTIONS, shards_spec(migration_position(state), limit))
        self._meter.query(len(rows))
        stale = stale_shards(rows)
        after = migration_doc(state, rows, limit, now)
        with self._docs.lock:  # one atomic batch, as in Firestore (a vanished document fails it)
            docs = {cid: self._require(cid) for cid in stale}
            for cid, shard in stale.items():
                self._docs.set(_CONNECTIONS, cid, {**docs[cid], "due_shard": shard})
            self._docs.set((CONFIG,), MIGRATION_DOC_ID, after)
        self._meter.commit(writes=len(stale) + 1)
        return after["after"] is None

    def write_legacy_connection(self, connection: Connection) -> None:
        """Store a connection as a version without shards did (no due_shard field): for migration tests."""
        self._docs.set(_CONNECTIONS, self._conn_id(connection.id), connection_to_doc(connection))

    def delete_connection_data(self, connection_id: str) -> int:
        """Delete the links, cursors and token blob of a connection; returns how many links were deleted."""
        cid = self._conn_id(connection_id)
        links: CollectionPath = (CONNECTIONS, cid, LINKS)
        deleted = 0
        for kind in Kind:
            while True:
                spec = Spec(LINKS_OF_KIND, {"kind": kind.value}, keys_only=True, limit=MAX_BATCH_WRITES)
                rows = self._docs.run(links, spec)
                self._meter.query(len(rows))
                if rows:
                    for doc_id, _ in rows:
                        self._docs.delete(links, doc_id)
                    self._meter.commit(deletes=len(rows))
                    deleted += len(rows)
                if len(rows) < MAX_BATCH_WRITES:
                    break
        for kind in Kind:
            self._docs.delete((CONNECTIONS, cid, CURSORS), kind.value)
        self._docs.delete((SECRETS,), cid)
        self._meter.commit(deletes=len(Kind) + 1)
        return deleted

    # -- lease and rerun flag --------------------------------------------------------------------------------

    def acquire_lease(self, connection_id: str, holder: str, ttl: timedelta, now: datetime) -> bool:
        """Take or extend the lease; False if another holder's lease is still live."""
        cid = self._conn_id(connection_id)
        expires_at = check_lease_args(holder, ttl, now)
        with self._docs.lock:
            self._meter.gets(1)
            doc = self._require(cid)
            taken = lease_is_free(doc.get("lease"), holder, now)
            if taken:
                self._docs.set(_CONNECTIONS, cid, {**doc, "lease": {"holder": holder, "expires_at": expires_at}})
        self._meter.commit(writes=int(taken))
        return taken

    def lease_connection(
        self,
        connection_id: str,
        holder: str,
        ttl: timedelta,
        now: datetime,
        admit: Callable[[Connection], bool] | None = None,
    ) -> Leased:
        """Read the connection and take the lease if ``admit`` allows and it is free (one read, one write)."""
        cid = self._conn_id(connection_id)
        expires_at = check_lease_args(holder, ttl, now)
        with self._docs.lock:
            self._meter.gets(1)
            doc = self._docs.get(_CONNECTIONS, cid)
            leased, update = lease_step(doc, f"{CONNECTIONS}/{cid}", holder, now, expires_at, admit)
            if doc is not None and update is not None:
                self._docs.set(_CONNECTIONS, cid, {**doc, **update})
        self._meter.commit(writes=int(update is not None))
        return leased

    def finish_run(self, connection_id: str, holder: str, fields: dict[str, Any], *, take_rerun: bool) -> bool:
        """Set fields, drop ``holder``'s lease, take the rerun flag if asked: one read, one write."""
        cid = self._conn_id(connection_id)
        changes = with_shard(connection_id, connection_fields_to_doc(connection_id, fields))
        with self._docs.lock:
            self._meter.gets(1)
            doc = self._require(cid)
            update, rerun = finish_step(doc, holder, changes, take_rerun)
            self._docs.set(_CONNECTIONS, cid, {**doc, **update})
        self._meter.commit(writes=1)
        return rerun

    def release_lease(self, connection_id: str, holder: str) -> bool:
        """Drop the lease if ``holder`` holds it; True if it did."""
        cid = self._conn_id(connection_id)
        with self._docs.lock:
            self._meter.gets(1)
            doc = self._docs.get(_CONNECTIONS, cid)
            lease = doc.get("lease") if doc else None
            released = bool(doc and lease and lease.get("holder") == holder)
            if doc and released:
                self._docs.set(_CONNECTIONS, cid, {**doc, "lease": None})
        self._meter.commit(writes=int(released))
        return released

    def request_rerun(self, connection_id: str) -> None:
        """Ask for another run after the current one ("Sync now" during a run)."""
        cid = self._conn_id(connection_id)
        with self._docs.lock:
            doc = self._require(cid)
            self._docs.set(_CONNECTIONS, cid, {**doc, "rerun_requested": True})
        self._meter.commit(writes=1)

    def take_rerun(self, connection_id: str) -> bool:
        """Clear the rerun flag; True if it was set."""
        cid = self._conn_id(connection_id)
        with self._docs.lock:
            self._meter.gets(1)
            doc = self._docs.get(_CONNECTIONS, cid)
            taken = bool(doc and doc.get("rerun_requested"))
            if doc and taken:
                self._docs.set(_CONNECTIONS, cid, {**doc, "rerun_requested": False})
        self._meter.commit(writes=int(taken))
        return taken

    # -- run log ---------------------------------------------------------------------------------------------

    def append_run(self, connection_id: str, run_id: str, summary: dict[str, Any], expires_at: datetime) -> None:
        """Record a run summary (must hold a ``started_at`` datetime) in the run log (TTL on expires_at)."""
        cid = self._conn_id(connection_id)
        self._docs.set((CONNECTIONS, cid, RUNS), run_id, run_doc(run_id, summary, expires_at))
        self._meter.commit(writes=1)

    def recent_runs(self, connection_id: str, limit: int = 20) -> list[dict[str, Any]]:
        """The latest run summaries, newest first."""
        rows = self._docs.run((CONNECTIONS, self._conn_id(connection_id), RUNS), runs_spec(limit))
        self._meter.query(len(rows))
        return [from_value(doc) for _, doc in rows]

    # -- global config ---------------------------------------------------------------------------------------

    def get_global_config(self) -> dict[str, Any]:
        """The admin/global configuration ({} if never stored)."""
        self._meter.gets(1)
        doc = self._docs.get((CONFIG,), GLOBAL_CONFIG_ID)
        return {} if doc is None else from_value(doc)

    def put_global_config(self, config: dict[str, Any]) -> None:
        """Replace the admin/global configuration."""
        self._docs.set((CONFIG,), GLOBAL_CONFIG_ID, check_config(config))
        self._meter.commit(writes=1)


def _conforms(store: MemoryStore, links: MemoryLinkStore) -> tuple[StateStore, LinkStore]:
    return store, links  # mypy checks that both satisfy their Protocols
