"""The ports of the sync engine: what it needs from Google, the CRM and the
state store. Adapters implement them; unit tests use in-memory fakes that
behave the same."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol, runtime_checkable

from .model.cursor import Cursor
from .model.kinds import Kind
from .model.link import Canon, Link


@dataclass(frozen=True)
class Change:
    """One record as one side reports it in a listing or change feed.

    ``canon`` is None for a deletion (or a record that left the sync's scope,
    with ``in_scope`` False). ``crm_id_hint`` is the CRM id Google carries for
    records we created (People ``clientData``, Calendar extended properties),
    so a create whose link was lost is linked, not duplicated. ``creatable`` False
    keeps an unlinked record from being created on the other side (a calendar
    event outside the sync window) while a linked one still syncs.
    """

    id: str
    canon: Canon | None
    updated_at: datetime | None = None
    version: str | None = None  # Google etag, or the CRM version as a string
    in_scope: bool = True
    crm_id_hint: str | None = None
    error: str | None = None  # set when the record could not be normalised
    creatable: bool = True  # False: sync it if already linked, never create it (e.g. outside a time window)
    name: str | None = None  # what the user calls a record whose values could not be read (``error``)

    @property
    def deleted(self) -> bool:
        return self.canon is None and self.error is None


@dataclass(frozen=True)
class Listing:
    """Changes from one side since a token, with the token to use next time."""

    changes: list[Change]
    next_token: str | None
    full: bool  # True when this was a full listing (no token, or the token expired)


@dataclass(frozen=True)
class WriteOp:
    """One write to one side. ``key`` identifies the op in results (the CRM id for
    creates in Google, the Google id for creates in the CRM, else the target id)."""

    key: str
    target_id: str | None  # None for creates
    fields: Canon  # for updates only the changed canonical fields
    full: Canon  # the whole canonical record after the write (the new merge base)
    version: str | None = None  # expected etag / version (If-Match)
    # Google creates: stored in clientData / extended properties; Google updates: the CRM id the record
    # carries from now on (its pair was re-created in the CRM), when it carries another
    crm_id: str | None = None
    idempotency_key: str | None = None  # for creates: what makes a retry a replay (default: ``key``)

    @property
    def idempotency(self) -> str:
        """The source of the create's idempotency key: one per intended record, so a retry
        replays it while a deliberate re-create (after a delete) gets a new record."""
        return self.idempotency_key or self.key


@dataclass(frozen=True)
class WriteResult:
    key: str
    ok: bool
    id: str | None = None
    version: str | None = None
    canon: Canon | None = None  # the record as the side now holds it, when returned
    error: str | None = None
    conflict: bool = False  # etag/version mismatch: re-read and re-merge
    transient: bool = False
    # The record exists but may not hold what was sent (a create replayed with a changed body):
    # its content is not taken as written; the engine re-reads and merges it.
    unconfirmed: bool = False
    # A create that found the record it was meant to make already there, made from an earlier
    # version of its source: ``canon`` is that record as first created, the base to merge from.
    replayed_other: bool = False
    # What the side did not hold exactly as sent (a value adapted to its format, or held back
    # because it refused it), each naming the field and the reason: for the run's notes.
    notes: tuple[str, ...] = ()


class RecordSide(Protocol):
    """One side's records of one kind (a Google API or the CRM), in canonical form."""

    kind: Kind

    def list_changes(self, token: str | None) -> Listing:
        """Every change since ``token`` (all pages); a full listing when ``token`` is None
        or expired."""
        ...

    def get(self, ids: Sequence[str]) -> dict[str, Change]:
        """Current state of records by id (missing ids are absent from the result)."""
        ...

    def create(self, ops: Sequence[WriteOp]) -> list[WriteResult]:
        """Create records (batched; idempotent on retry)."""
        ...

    def update(self, ops: Sequence[WriteOp]) -> list[WriteResult]:
        """Update changed fields only, conditional on ``op.version``."""
        ...

    def delete(self, ops: Sequence[WriteOp]) -> list[WriteResult]:
        """Delete records (a record already gone counts as deleted)."""
        ...


@runtime_checkable
class HoldsStandIns(Protocol):
    """A side that cannot hold every value of some fields (Google sets an event's organizer
    itself; a CRM links an organisation only to a company it has). Optional: a side without it
    is taken to hold whatever it is sent."""

    def stand_ins(self, record: Canon, wanted: Canon) -> Canon:
        """Of ``wanted`` (field -> value about to be written into ``record``, as this side holds
        it now), the fields this side cannot take, each with the value it would keep instead."""
        ...


@runtime_checkable
class ForgetsKeys(Protocol):
    """A side that keeps create idempotency keys only for a while (a CRM declaring a retention at
    GET /capabilities). Optional: a side without it is taken to keep them as long as crmsync replays."""

    def key_retention(self) -> timedelta | None:
        """How long a create's key is kept (None: longer than crmsync ever replays)."""
        ...


class LinkStore(Protocol):
    """Links and cursors of one connection."""

    def links_by_crm(self, kind: Kind, crm_ids: Iterable[str]) -> dict[str, Link]:
        """Links by CRM id (batched reads)."""
        ...

    def links_by_google(self, kind: Kind, google_ids: Iterable[str]) -> dict[str, Link]:
        """Links by Google id (batched queries)."""
        ...

    def all_links(self, kind: Kind) -> Iterator[Link]:
        """Every link of a kind (streamed)."""
        ...

    def count_links(self, kind: Kind) -> int:
        """How many links of a kind exist (an aggregation, not a scan)."""
        ...

    def save_links(self, upserts: Sequence[Link], deletes: Sequence[Link]) -> None:
        """Write links in batches of at most 500."""
        ...

    def cursor(self, kind: Kind) -> Cursor:
        """The kind's cursor (a fresh one requesting a full sync if none is stored)."""
        ...

    def save_cursor(self, cursor: Cursor) -> None:
        """Store the kind's cursor (only after the links it covers are saved)."""
        ...


@dataclass
class OpCounter:
    """Counts of operations against a backend, for run summaries and benchmarks."""

    counts: dict[str, int] = field(default_factory=dict)

    def add(self, name: str, n: int = 1) -> None:
        self.counts[name] = self.counts.get(name, 0) + n
