"""Builders of links and connections for the store tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from crmsync.model.kinds import Kind, Side
from crmsync.model.link import Link, LinkSide, content_hash
from crmsync.model.state import Connection, ConnectionStatus
from crmsync.store.contract import COMMITS, DELETES, QUERIES, READS, WRITES
from crmsync.store.firestore import FirestoreStore
from crmsync.store.memory import MemoryStore

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def make_link(crm_id: str, kind: Kind = Kind.CONTACTS, google_id: str | None = None, n: int = 0) -> Link:
    """A link with a small canonical base."""
    base = {"given": f"Anna {crm_id}", "emails": [{"type": "work", "value": f"{crm_id}@example.com"}], "n": n}
    return Link(
        kind=kind,
        base=base,
        crm=LinkSide(id=crm_id, seen_hash=content_hash(base), version=str(n + 1)),
        google=LinkSide(id=google_id or f"people/g{crm_id}", seen_hash=content_hash(base), version=f"etag-{n}"),
        created_by=Side.CRM,
        synced_at=T0 + timedelta(seconds=n),
    )


def make_connection(
    cid: str,
    status: ConnectionStatus = ConnectionStatus.ACTIVE,
    next_sync_at: datetime | None = T0,
    created_at: datetime = T0,
    crm_user_id: str | None = None,
    google_subject: str | None = None,
) -> Connection:
    """A connection with defaults for everything the test does not care about."""
    return Connection(
        id=cid,
        crm_user_id=crm_user_id or f"user-{cid}",
        google_subject=google_subject or f"sub-{cid}",
        google_email=f"{cid}@example.com",
        scopes=["https://www.googleapis.com/auth/contacts"],
        status=status,
        next_sync_at=next_sync_at,
        created_at=created_at,
    )


def ops(counts: dict[str, int]) -> dict[str, int]:
    """The billed operations of an OpCounter, with zeros for the ones not seen."""
    return {name.split(".")[1]: counts.get(name, 0) for name in (READS, WRITES, DELETES, QUERIES, COMMITS)}


def put_raw(store: MemoryStore | FirestoreStore, path: tuple[str, ...], doc: dict[str, Any]) -> None:
    """Store a document exactly as given (e.g. one of an older release), bypassing the codec."""
    *col, doc_id = path
    if isinstance(store, FirestoreStore):
        store.client.document("/".join(path)).set(doc)
    else:
        store._docs.set(tuple(col), doc_id, doc)


def get_raw(store: MemoryStore | FirestoreStore, path: tuple[str, ...]) -> dict[str, Any] | None:
    """A stored document exactly as kept (datetimes as the store returns them)."""
    *col, doc_id = path
    if isinstance(store, FirestoreStore):
        snap = store.client.document("/".join(path)).get()
        return snap.to_dict() if snap.exists else None
    return store._docs.get(tuple(col), doc_id)
