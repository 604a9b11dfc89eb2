"""The CRM's tasks as the engine sees them: a ``RecordSide`` over any ``CrmConnector``.

Google keeps only the date of a due time, so the canonical task has a
``due_date`` and the CRM's own due time lives here: every CRM record this side
reads (feed, ``get``, write results) leaves its raw ``due`` in a per-run cache,
and an update that changes the due date re-attaches the cached time and offset
(records not read in this run are fetched with one ``get_many`` per 1000).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from ..model.field_mapping import MappedFields
from ..model.kinds import Kind
from ..model.link import Canon
from ..model.names import plain_name
from ..model.normalise import unreadable
from ..model.settings import KindSettings
from ..model.task import COMPLETED, canonical_task
from ..ports import Change, Listing, OpCounter, WriteOp, WriteResult
from . import custom_side
from .bulk_writes import bulk_write
from .capabilities import DeclaresKeyRetention
from .feed import feed_change, guard, parse_time, read_feed
from .models import Task
from .port import BulkCreate, BulkDelete, BulkOp, BulkUpdate, CrmConnector
from .port import Change as FeedChange

PAGE = 1000


def crm_due(due_date: str | None, current: str | None) -> str | None:
    """The CRM ``due`` for a canonical date, keeping the time and offset of ``current``
    when it is a date-time (``2026-11-25T16:30:00+01:00`` moved to the 27th keeps 16:30+01:00)."""
    if due_date is None:
        return None
    if current and len(current) > 10 and "T" in current:
        return due_date + current[current.index("T") :]
    date.fromisoformat(due_date)  # a malformed canonical date is a bug upstream: fail loudly
    return due_date


def raw_task(record: Task) -> dict[str, Any]:
    """The CRM record as a raw task dict (see ``canonical_task``)."""
    return {
        "title": record.title,
        "notes": record.notes,
        "due": record.due,
        "status": record.status,
        "completed": record.completed_at,
    }


@dataclass
class CrmTasks(DeclaresKeyRetention):
    """Tasks of one CRM user, through the connector, as canonical records."""

    connector: CrmConnector
    connection_id: str
    crm_user_id: str
    settings: KindSettings
    counter: OpCounter = field(default_factory=OpCounter)
    kind: Kind = Kind.TASKS
    mapped: MappedFields = field(default_factory=MappedFields)  # the admin's custom fields of tasks
    _due: dict[str, str | None] = field(default_factory=dict, init=False)  # raw CRM due per id, this run
    _versions: dict[str, int] = field(default_factory=dict, init=False)  # CRM version per id, this run

    # ----------------------------------------------------------------- reading

    def list_changes(self, token: str | None) -> Listing:
        """Every feed entry after ``token`` (all pages); from the start when None."""
        read = read_feed(
            self.connector, "tasks", token, crm_user_id=self.crm_user_id, settings=self.settings, counter=self.counter
        )
        return Listing([self._change(e) for e in read.entries], read.cursor, full=read.full)

    def get(self, ids: Sequence[str]) -> dict[str, Change]:
        """Current records by id (deleted or invisible ones are absent)."""
        return {r.id: self._record_change(r) for r in self._fetch(ids)}

    def _fetch(self, ids: Sequence[str]) -> list[Task]:
        found: list[Task] = []
        for start in range(0, len(ids), PAGE):
            with self._guard("crm.get_many"):
                records = self.connector.get_many(
                    "tasks", list(ids[start : start + PAGE]), on_behalf_of=self.crm_user_id
                )
            found.extend(r for r in records if isinstance(r, Task))
        for r in found:
            self._due[r.id], self._versions[r.id] = r.due, r.version
        return found

    def _change(self, entry: FeedChange) -> Change:
        return feed_change(entry, Task, self._record_change)

    def _record_change(self, record: Task) -> Change:
        self._due[record.id], self._versions[record.id] = record.due, record.version
        when, version = parse_time(record.updated_at), str(record.version)
        try:
            canon = {**canonical_task(raw_task(record)), **custom_side.read(self.mapped, record.custom_fields)}
        except Exception as err:  # one record's odd value skips that record, never the run
            return Change(record.id, None, when, version, error=unreadable(err), name=plain_name(record.title))
        return Change(record.id, canon, when, version)

    # ----------------------------------------------------------------- writing

    def body(self, fields: Canon, full: Canon, *, current_due: str | None, creating: bool) -> dict[str, Any]:
        """The CRM patch (or create body) for changed canonical ``fields`` of record ``full``."""
        out: dict[str, Any] = {}
        if "title" in fields:
            out["title"] = fields["title"]
        if "notes" in fields:
            out["notes"] = fields["notes"]
        if "due_date" in fields:
            out["due"] = crm_due(fields["due_date"], current_due)
        if creating or "status" in fields or "completed" in fields:
            # status and completed_at are validated together: always send them as a pair.
            done = full.get("status") == COMPLETED
            out["status"] = "completed" if done else "open"
            out["completed_at"] = full.get("completed") if done else None
            if done and out["completed_at"] is None:
                del out["completed_at"]  # the CRM stamps the completion time itself
        custom = custom_side.patch(self.mapped, fields)
        if custom:
            out["custom_fields"] = {k: v for k, v in custom.items() if v is not None or not creating}
        if creating:
            out.setdefault("title", full.get("title"))
            out["owner_id"] = self.crm_user_id
            if self.settings.crm_tag:
                out["tags"] = [self.settings.crm_tag]
        return out

    def stand_ins(self, record: Canon, wanted: Canon) -> Canon:
        """Custom fields mapped crm_to_google: the CRM keeps its own value."""
        return self.mapped.kept(record, wanted, crm=True)

    def create(self, ops: Sequence[WriteOp]) -> list[WriteResult]:
        """Create tasks; each carries an idempotency key derived from the connection and
        the Google id, so a retried run never creates twice."""
        bulk: list[BulkOp] = [
            BulkCreate(
                self.body(op.fields, op.full, current_due=None, creating=True), _key(self.connection_id, op.idempotency)
            )
            for op in ops
        ]
        return self._bulk(ops, bulk)

    def update(self, ops: Sequence[WriteOp]) -> list[WriteResult]:
        """Patch changed fields only, If-Match the version last seen; a changed due date
        keeps the CRM's due time."""
        unknown = [str(op.target_id) for op in ops if "due_date" in op.fields and op.target_id not in self._due]
        if unknown:
            self._fetch(unknown)
        bulk: list[BulkOp] = [
            BulkUpdate(
                str(op.target_id),
                int(op.version or 0),
                self.body(op.fields, op.full, current_due=self._due.get(str(op.target_id)), creating=False),
            )
            for op in ops
        ]
        return self._bulk(ops, bulk)

    def delete(self, ops: Sequence[WriteOp]) -> list[WriteResult]:
        """Delete, If-Match the version last seen (a newer edit makes it a conflict).

        The engine's delete steps carry the version last seen; a delete without one (another
        caller) reads it just before deleting, so the delete is still conditional on that read."""
        blind = [str(op.target_id) for op in ops if op.version is None and op.target_id not in self._versions]
        if blind:
            self._fetch(blind)
        bulk: list[BulkOp] = [
            BulkDelete(str(op.target_id), int(op.version or self._versions.get(str(op.target_id), 0))) for op in ops
        ]
        return self._bulk(ops, bulk, missing_ok=True)

    def _bulk(self, ops: Sequence[WriteOp], bulk: list[BulkOp], *, missing_ok: bool = False) -> list[WriteResult]:
        return [
            res
            for res, _ in bulk_write(
                self.connector,
                "tasks",
                ops,
                bulk,
                crm_user_id=self.crm_user_id,
                counter=self.counter,
                record_type=Task,
                record_change=self._record_change,
                missing_ok=missing_ok,
                what="task",
            )
        ]

    def _guard(self, name: str) -> AbstractContextManager[None]:
        return guard(self.counter, name)


def _key(connection_id: str, google_id: str) -> str:
    """A stable idempotency key for creating the CRM counterpart of Google task ``google_id``."""
    return "crmsync-" + hashlib.sha256(f"{connection_id}|tasks|{google_id}".encode()).hexdigest()[:40]
