"""The Firestore state store: connections, leases, run log, config (sign-in documents: firestore_signin.py)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from google.cloud import firestore

from crmsync.model.kinds import Kind
from crmsync.model.state import Connection, ConnectionStatus
from crmsync.ports import LinkStore, OpCounter

from . import firestore_io as io
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
from .firestore_links import FirestoreLinkStore
from .firestore_signin import FirestoreSignIn
from .firestore_watch import FirestoreWatchChannels
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


class FirestoreStore(FirestoreWatchChannels, FirestoreSignIn):
    """Connection-level state in Firestore; ``connection_store(id)`` gives a connection's LinkStore."""

    def __init__(self, client: firestore.Client, counter: OpCounter | None = None) -> None:
        self._client = client
        self._meter = Meter(counter)
        self.counter = self._meter.counter

    def _conn(self, connection_id: str) -> io.DocumentReference:
        return self._client.collection(CONNECTIONS).document(check_doc_id("connection id", connection_id))

    # -- connections ---------------------------------------------------------------------------------------

    @property
    def client(self) -> firestore.Client:
        """The Firestore client (for documents other modules own, e.g. task creation intents)."""
        return self._client

    def connection_store(self, connection_id: str) -> FirestoreLinkStore:
        """The links and cursors of one connection."""
        return FirestoreLinkStore(self._client, check_doc_id("connection id", connection_id), self._meter)

    def get_connection(self, connection_id: str) -> Connection | None:
        """The connection, or None if there is none."""
        self._meter.gets(1)
        doc = io.get(self._conn(connection_id))
        return None if doc is None else connection_from_doc(doc, f"{CONNECTIONS}/{connection_id}")

    def put_connection(self, connection: Connection) -> None:
        """Create or replace the connection document."""
        doc = with_shard(connection.id, connection_to_doc(connection))
        self._conn(connection.id).set(doc)
        self._meter.commit(writes=1)

    def update_connection(self, connection_id: str, fields: dict[str, Any]) -> None:
        """Set top-level fields of an existing connection (validated against the model)."""
        ref = self._conn(connection_id)
        doc = with_shard(connection_id, connection_fields_to_doc(connection_id, fields))
        try:
            ref.update(doc)
        except io.NotFound as err:
            raise ConnectionNotFound(f"connection {connection_id} does not exist") from err
        self._meter.commit(writes=1)

    def update_connections(self, fields_by_id: Mapping[str, dict[str, Any]]) -> None:
        """Set top-level fields of many connections, in batched commits of at most 500 writes."""
        items = list(fields_by_id.items())
        for start in range(0, len(items), MAX_BATCH_WRITES):
            part = items[start : start + MAX_BATCH_WRITES]
            batch = self._client.batch()
            for cid, fields in part:
                batch.update(self._conn(cid), with_shard(cid, connection_fields_to_doc(cid, fields)))
            batch.commit()
            self._meter.commit(writes=len(part))

    def find_connection_by_crm_user(self, crm_user_id: str) -> Connection | None:
        """The connection of a CRM user (the first by id, if several), or None."""
        rows = io.stream(self._client.collection(CONNECTIONS), by_crm_user_spec(crm_user_id))
        self._meter.query(len(rows))
        return connection_from_doc(rows[0][1], f"{CONNECTIONS}/{rows[0][0]}") if rows else None

    def find_connections_by_google_subject(self, subject: str, limit: int = 10) -> list[Connection]:
        """Connections joined to one Google account (its OpenID subject), any status, at most ``limit``."""
        rows = io.stream(self._client.collection(CONNECTIONS), by_google_subject_spec(subject, limit))
        self._meter.query(len(rows))
        return [connection_from_doc(doc, f"{CONNECTIONS}/{cid}") for cid, doc in rows]

    def list_connections(
        self, status: ConnectionStatus | None = None, limit: int = 100, start_after: str | None = None
    ) -> Page[Connection]:
        """Connections newest first, optionally only those with one status."""
        spec = listing_spec(status, limit, start_after)
        rows = io.stream(self._client.collection(CONNECTIONS), spec)
        self._meter.query(len(rows))
        return connection_page(rows, spec, "created_at")

    def due_connections(self, now: datetime, page_size: int = 500, start_after: str | None = None) -> Page[Connection]:
        """Active connections with next_sync_at <= now, oldest due first."""
        spec = due_spec(now, page_size, start_after)
        rows = io.stream(self._client.collection(CONNECTIONS), spec)
        self._meter.query(len(rows))
        return connection_page(rows, spec, "next_sync_at")

    def due_listing(
        self, now: datetime, shard: int, page_size: int = 500, start_after: str | None = None
    ) -> Page[DueConnection]:
        """One shard of the active connections due at ``now``, oldest first, only the fields the tick needs."""
        spec = due_shard_spec(now, shard, page_size, start_after)
        rows = io.stream(self._client.collection(CONNECTIONS), spec)
        self._meter.query(len(rows))
        return due_page(rows, spec)

    def due_shards_ready(self) -> bool:
        """Whether every connection document carries its shard, so the sharded listing misses none."""
        self._meter.gets(1)
        return migration_done(io.get(self._client.collection(CONFIG).document(MIGRATION_DOC_ID)))

    def backfill_due_shards(self, now: datetime, limit: int = SWEEP_PAGE) -> bool:
        """Sweep the next ``limit`` connections, writing stale or missing shards; True when no sweep is due."""
        marker = self._client.collection(CONFIG).document(MIGRATION_DOC_ID)
        self._meter.gets(1)
        state = io.get(marker)
        if not sweep_due(state, now):
            return True
        rows = io.stream(self._client.collection(CONNECTIONS), shards_spec(migration_position(state), limit))
        self._meter.query(len(rows))
        stale = stale_shards(rows)
        after = migration_doc(state, rows, limit, now)
        batch = self._client.batch()
        for cid, shard in stale.items():
            batch.update(self._conn(cid), {"due_shard": shard})
        batch.set(marker, after)
        batch.commit()
        self._meter.commit(writes=len(stale) + 1)
        return after["after"] is None

    def delete_connection_data(self, connection_id: str) -> int:
        """Delete the links, cursors and token blob of a connection; returns how many links were deleted."""
        parent = self._conn(connection_id)
        links = parent.collection(LINKS)
        deleted = 0
        for kind in Kind:
            while True:
                spec = Spec(LINKS_OF_KIND, {"kind": kind.value}, keys_only=True, limit=MAX_BATCH_WRITES)
                rows = io.stream(links, spec)
                self._meter.query(len(rows))
                if rows:
                    batch = self._client.batch()
                    for doc_id, _ in rows:
                        batch.delete(links.document(doc_id))
                    batch.commit()
                    self._meter.commit(deletes=len(rows))
                    deleted += len(rows)
                if len(rows) < MAX_BATCH_WRITES:
                    break
        batch = self._client.batch()
        for kind in Kind:
            batch.delete(parent.collection(CURSORS).document(kind.value))
        batch.delete(self._client.collection(SECRETS).document(connection_id))
        batch.commit()
        self._meter.commit(deletes=len(Kind) + 1)
        return deleted

    # -- lease and rerun flag --------------------------------------------------------------------------------

    def acquire_lease(self, connection_id: str, holder: str, ttl: timedelta, now: datetime) -> bool:
        """Take or extend the lease; False if another holder's lease is still live."""
        ref = self._conn(connection_id)
        expires_at = check_lease_args(holder, ttl, now)

        def body(tx: io.Transaction) -> bool:
            self._meter.gets(1)
            doc = io.get(ref, tx)
            if doc is None:
                raise ConnectionNotFound(f"connection {connection_id} does not exist")
            if not lease_is_free(doc.get("lease"), holder, now):
                return False
            tx.update(ref, {"lease": {"holder": holder, "expires_at": expires_at}})
            return True

        taken = io.run_in_transaction(self._client, body)
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
        """Read the connection and take the lease if ``admit`` allows and it is free: one transaction, one
        read (the worker's only read of the connection), one write when taken."""
        ref = self._conn(connection_id)
        expires_at = check_lease_args(holder, ttl, now)

        def body(tx: io.Transaction) -> tuple[Leased, bool]:
            self._meter.gets(1)
            doc = io.get(ref, tx)
            leased, update = lease_step(doc, f"{CONNECTIONS}/{connection_id}", holder, now, expires_at, admit)
            if update is not None:
                tx.update(ref, update)
            return leased, update is not None

        leased, wrote = io.run_in_transaction(self._client, body)
        self._meter.commit(writes=int(wrote))
        return leased

    def finish_run(self, connection_id: str, holder: str, fields: dict[str, Any], *, take_rerun: bool) -> bool:
        """Set fields, drop ``holder``'s lease, take the rerun flag if asked: one transaction, one read,
        one write (the run's report and the lease's end are one document write)."""
        ref = self._conn(connection_id)
        changes = with_shard(connection_id, connection_fields_to_doc(connection_id, fields))

        def body(tx: io.Transaction) -> bool:
            self._meter.gets(1)
            doc = io.get(ref, tx)
            if doc is None:
                raise ConnectionNotFound(f"connection {connection_id} does not exist")
            update, rerun = finish_step(doc, holder, changes, take_rerun)
            tx.update(ref, update)
            return rerun

        rerun = io.run_in_transaction(self._client, body)
        self._meter.commit(writes=1)
        return rerun

    def release_lease(self, connection_id: str, holder: str) -> bool:
        """Drop the lease if ``holder`` holds it; True if it did."""
        ref = self._conn(connection_id)

        def body(tx: io.Transaction) -> bool:
            self._meter.gets(1)
            doc = io.get(ref, tx)
            lease = doc.get("lease") if doc else None
            if not lease or lease.get("holder") != holder:
                return False
            tx.update(ref, {"lease": None})
            return True

        released = io.run_in_transaction(self._client, body)
        self._meter.commit(writes=int(released))
        return released

    def request_rerun(self, connection_id: str) -> None:
        """Ask for another run after the current one ("Sync now" during a run)."""
        try:
            self._conn(connection_id).update({"rerun_requested": True})
        except io.NotFound as err:
            raise ConnectionNotFound(f"connection {connection_id} does not exist") from err
        self._meter.commit(writes=1)

    def take_rerun(self, connection_id: str) -> bool:
        """Clear the rerun flag; True if it was set."""
        ref = self._conn(connection_id)

        def body(tx: io.Transaction) -> bool:
            self._meter.gets(1)
            doc = io.get(ref, tx)
            if not doc or not doc.get("rerun_requested"):
                return False
            tx.update(ref, {"rerun_requested": False})
            return True

        taken = io.run_in_transaction(self._client, body)
        self._meter.commit(writes=int(taken))
        return taken

    # -- run log ---------------------------------------------------------------------------------------------

    def append_run(self, connection_id: str, run_id: str, summary: dict[str, Any], expires_at: datetime) -> None:
        """Record a run summary (must hold a ``started_at`` datetime) in the run log (TTL on expires_at)."""
        doc = run_doc(run_id, summary, expires_at)
        self._conn(connection_id).collection(RUNS).document(run_id).set(doc)
        self._meter.commit(writes=1)

    def recent_runs(self, connection_id: str, limit: int = 20) -> list[dict[str, Any]]:
        """The latest run summaries, newest first."""
        rows = io.stream(self._conn(connection_id).collection(RUNS), runs_spec(limit))
        self._meter.query(len(rows))
        return [from_value(doc) for _, doc in rows]

    # -- global config ---------------------------------------------------------------------------------------

    def get_global_config(self) -> dict[str, Any]:
        """The admin/global configuration ({} if never stored)."""
        self._meter.gets(1)
        doc = io.get(self._client.collection(CONFIG).document(GLOBAL_CONFIG_ID))
        return {} if doc is None else from_value(doc)

    def put_global_config(self, config: dict[str, Any]) -> None:
        """Replace the admin/global configuration."""
        self._client.collection(CONFIG).document(GLOBAL_CONFIG_ID).set(check_config(config))
        self._meter.commit(writes=1)


def _conforms(store: FirestoreStore, links: FirestoreLinkStore) -> tuple[StateStore, LinkStore]:
    return store, links  # mypy checks that both satisfy their Protocols
