"""CRM tasks as Google Calendar events: a ``RecordSide`` for ``Kind.TASKS`` when
``TaskOptions.target`` is ``TaskTarget.CALENDAR``.

Each CRM task with a due date is an all-day event on that date in one calendar
(primary by default), under an id derived from the connection and the CRM task
id (an insert that meets 409 links, or revives, what is there). Only events
carrying this connection's task properties are tasks; every other event of the
calendar is left alone, and tasks are never created in the CRM from Google.

Tasks without a due date have no day to sit on: ``DueDatedOnly`` marks them
not creatable (a linked task whose due date is cleared keeps its event's day).

Listing by sync token (410: a full listing); writes through Calendar HTTP
batches with If-Match on updates and deletes, ``sendUpdates=none`` always.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from ..model.kinds import Kind
from ..model.names import plain_name
from ..model.normalise import unreadable
from ..ports import Change, Listing, OpCounter, RecordSide, WriteOp, WriteResult
from ..sync.merge import changed_fields
from .batch import BatchRunner, Call, Outcome
from .errors import NotFound, SyncTokenExpired
from .pacing import Pacer
from .paging import fetch_all
from .retry import Caller
from .tasks_event_mapping import Event, event_task_canon, insert_body, patch_body, task_crm_id, task_event_id
from .write_results import delete_results, error_result, gone_since_read, is_duplicate

PAGE_SIZE = 2500
PACED_CHUNK = 200
TASK_EVENT = "the task event"
NO_DUE = "a task without a due date cannot be a Calendar event; give it a due date in the CRM"


def _updated(ev: Event) -> datetime | None:
    value = ev.get("updated")
    return datetime.fromisoformat(str(value).replace("Z", "+00:00")) if value else None


class CalendarTasks:
    """CRM tasks kept as all-day events of one Google calendar, in canonical task form."""

    kind = Kind.TASKS

    def __init__(
        self,
        service: Any,
        batch_uri: str,
        *,
        connection_id: str,
        calendar_id: str = "primary",
        counter: OpCounter | None = None,
        pacer: Pacer | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rng: Callable[[], float] = random.random,
        attempts: int = 5,
        max_batch: int = 1000,
    ) -> None:
        if not calendar_id.strip():
            raise ValueError("calendar_id must name a calendar ('primary' or a calendar id)")
        self.service, self.connection_id, self.calendar = service, connection_id, calendar_id.strip()
        self.counter, self.pacer = counter or OpCounter(), pacer or Pacer()
        self._call = Caller(self.counter, pacer=self.pacer, sleep=sleep, rng=rng, attempts=attempts)
        self.runner = BatchRunner(
            batch_uri, self.counter, self.pacer, sleep=sleep, rng=rng, attempts=attempts, max_batch=max_batch
        )
        self._events: Any = None

    @property
    def events(self) -> Any:
        """The events resource (built once)."""
        if self._events is None:
            self._events = self.service.events()
        return self._events

    @property
    def write_chunk(self) -> int:
        """Writes per engine chunk: one whole batch, or ``PACED_CHUNK`` while a quota is paced."""
        return self.runner.max_batch if self.pacer.per_minute is None else min(self.runner.max_batch, PACED_CHUNK)

    def budget(self) -> bool:
        """True while one more write chunk fits under the per-user quota."""
        return self.pacer.room() >= 2 * PACED_CHUNK  # a chunk of creates may need as many re-reads

    def our_id(self, crm_id: str) -> str:
        """The event id CRM task ``crm_id`` is inserted under."""
        return task_event_id(self.connection_id, crm_id)

    # ------------------------------------------------------------------ reading

    def list_changes(self, token: str | None) -> Listing:
        """Task events changed since ``token``; a full listing without one, for another calendar, or on 410."""
        sync_token = _read_token(token, self.calendar)
        items: list[Event] | None = None
        if sync_token is not None:
            try:
                items, next_token = self._list(sync_token)
            except SyncTokenExpired:
                items = None
        full = items is None
        if items is None:
            items, next_token = self._list(None)
        changes = [c for c in (self._change(ev, full) for ev in items) if c is not None]
        state = {"v": 1, "calendar": self.calendar, "token": next_token}
        return Listing(changes, json.dumps(state, sort_keys=True), full)

    def _list(self, sync_token: str | None) -> tuple[list[Event], str | None]:
        events = self.events
        params: dict[str, Any] = {
            "calendarId": self.calendar,
            "maxResults": PAGE_SIZE,
            "showDeleted": True,
            "singleEvents": False,
        }
        if sync_token:
            params["syncToken"] = sync_token
        paged = fetch_all(
            lambda tok: self._call("calendar.events.list", lambda: events.list(**params, pageToken=tok)), "items"
        )
        return paged.items, paged.next_sync_token

    def _change(self, ev: Event, full: bool) -> Change | None:
        """The change an event stands for; None for events that are not this connection's tasks."""
        eid, etag, when = str(ev["id"]), ev.get("etag"), _updated(ev)
        crm_id = task_crm_id(ev, self.connection_id)
        if ev.get("status") == "cancelled":
            # A deletion in a sync listing may carry only its id: report it unless it is visibly someone else's.
            unknown = not (ev.get("extendedProperties") or {}).get("private")
            return Change(eid, None, when, etag) if crm_id or (unknown and not full) else None
        if crm_id is None or ev.get("recurringEventId"):
            return None
        try:
            canon = event_task_canon(ev)
        except Exception as err:  # one record's odd value skips that record, never the run
            name = plain_name(ev.get("summary"))
            return Change(eid, None, when, etag, crm_id_hint=crm_id, error=unreadable(err), name=name)
        return Change(eid, canon, when, etag, crm_id_hint=crm_id)

    def _fetch(self, ids: Sequence[str]) -> dict[str, Event]:
        """Events by id in one batch (missing ones absent, cancelled ones included)."""
        calls = [Call("calendar.events.get", self.events.get(calendarId=self.calendar, eventId=i)) for i in ids]
        found: dict[str, Event] = {}
        for eid, outcome in zip(ids, self.runner.run(calls), strict=True):
            if isinstance(outcome, NotFound):
                continue
            if isinstance(outcome, BaseException):
                raise outcome
            found[eid] = outcome
        return found

    def get(self, ids: Sequence[str]) -> dict[str, Change]:
        """Current task events by id (deleted, missing or foreign ones are absent)."""
        out: dict[str, Change] = {}
        for ev in self._fetch(list(dict.fromkeys(ids))).values():
            change = self._change(ev, full=True)
            if change is not None and (change.canon is not None or change.error):
                out[change.id] = change
        return out

    # ------------------------------------------------------------------ writing

    def _result(self, key: str, outcome: Outcome, *, updating: bool = False) -> WriteResult:
        if isinstance(outcome, BaseException):
            return error_result(key, outcome, updating=updating, what=TASK_EVENT)
        if outcome.get("status") == "cancelled":
            return gone_since_read(key, TASK_EVENT)  # re-read and re-merge: the delete rules decide
        change = self._change(outcome, full=True)
        canon = change.canon if change is not None else None
        return WriteResult(key, True, str(outcome["id"]), outcome.get("etag"), canon)

    def create(self, ops: Sequence[WriteOp]) -> list[WriteResult]:
        """Insert task events under our ids; a 409 links (and brings up to date, or revives) what is there."""
        results: dict[str, WriteResult] = {op.key: WriteResult(op.key, False, error=NO_DUE) for op in ops}
        dated = [op for op in ops if op.full.get("due_date")]
        calls = [
            Call(
                "calendar.events.insert",
                self.events.insert(calendarId=self.calendar, body=self._insert(op), sendUpdates="none"),
            )
            for op in dated
        ]
        taken: list[WriteOp] = []
        for op, outcome in zip(dated, self.runner.run(calls), strict=True):
            if is_duplicate(outcome):
                taken.append(op)
            else:
                results[op.key] = self._result(op.key, outcome)
        if taken:  # an earlier run inserted them (or they were deleted since): link or revive
            results.update(self._adopt(taken))
        return [results[op.key] for op in ops]

    def _insert(self, op: WriteOp) -> Event:
        crm_id = str(op.crm_id or op.key)
        return insert_body(op.full, self.our_id(crm_id), crm_id, self.connection_id)

    def _adopt(self, ops: list[WriteOp]) -> dict[str, WriteResult]:
        found = self._fetch([self.our_id(str(op.crm_id or op.key)) for op in ops])
        out: dict[str, WriteResult] = {}
        calls: list[tuple[WriteOp, Call]] = []
        for op in ops:
            eid = self.our_id(str(op.crm_id or op.key))
            ev = found.get(eid)
            if ev is None or task_crm_id(ev, self.connection_id) != str(op.crm_id or op.key):
                out[op.key] = WriteResult(op.key, False, error=f"event id {eid} is already used by another event")
                continue
            if ev.get("status") == "cancelled":  # deleted in Google before: put it back as this task
                body = {**self._insert(op), "status": "confirmed"}
                req = self.events.update(calendarId=self.calendar, eventId=eid, body=body, sendUpdates="none")
                calls.append((op, Call("calendar.events.update", req)))
                continue
            change = self._change(ev, full=True)
            current = change.canon if change is not None else None
            body = patch_body(changed_fields(current or {}, op.full), op.full) if current is not None else {}
            if current is not None and not body:
                out[op.key] = WriteResult(op.key, True, eid, ev.get("etag"), current)
                continue
            if current is None:  # unreadable (e.g. the title was cleared): write it whole
                body = {k: v for k, v in self._insert(op).items() if k not in ("id", "iCalUID")}
            req = self.events.patch(calendarId=self.calendar, eventId=eid, body=body, sendUpdates="none")
            req.headers["If-Match"] = str(ev.get("etag") or "*")
            calls.append((op, Call("calendar.events.patch", req)))
        for (op, _), outcome in zip(calls, self.runner.run([c for _, c in calls]), strict=True):
            out[op.key] = self._result(op.key, outcome)
        return out

    def update(self, ops: Sequence[WriteOp]) -> list[WriteResult]:
        """PATCH the changed fields, If-Match the etag last seen."""
        results: dict[str, WriteResult] = {}
        sent: list[WriteOp] = []
        calls: list[Call] = []
        for op in ops:
            body = patch_body(op.fields, op.full, op.crm_id, self.connection_id)
            if not body:  # e.g. only the due date was cleared: the event keeps its day
                results[op.key] = WriteResult(op.key, True, op.target_id, op.version)
                continue
            req = self.events.patch(calendarId=self.calendar, eventId=str(op.target_id), body=body, sendUpdates="none")
            if op.version:
                req.headers["If-Match"] = op.version
            calls.append(Call("calendar.events.patch", req))
            sent.append(op)
        for op, outcome in zip(sent, self.runner.run(calls), strict=True):
            results[op.key] = self._result(op.key, outcome, updating=True)
        return [results[op.key] for op in ops]

    def delete(self, ops: Sequence[WriteOp]) -> list[WriteResult]:
        """Delete task events, If-Match the etag last seen; one already gone counts as deleted."""
        calls = []
        for op in ops:
            req = self.events.delete(calendarId=self.calendar, eventId=str(op.target_id), sendUpdates="none")
            if op.version:
                req.headers["If-Match"] = op.version
            calls.append(Call("calendar.events.delete", req))
        return delete_results(ops, self.runner.run(calls))


class DueDatedOnly:
    """A CRM task side whose tasks without a due date are not creatable (they have no day in a calendar)."""

    def __init__(self, inner: RecordSide) -> None:
        self.inner = inner
        self.kind = inner.kind

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    @staticmethod
    def _mark(change: Change) -> Change:
        undated = change.canon is not None and not change.canon.get("due_date")
        return replace(change, creatable=False) if undated else change

    def list_changes(self, token: str | None) -> Listing:
        """The inner listing, undated tasks marked not creatable."""
        listing = self.inner.list_changes(token)
        return replace(listing, changes=[self._mark(c) for c in listing.changes])

    def get(self, ids: Sequence[str]) -> dict[str, Change]:
        """The inner records, undated tasks marked not creatable."""
        return {k: self._mark(c) for k, c in self.inner.get(ids).items()}

    def create(self, ops: Sequence[WriteOp]) -> list[WriteResult]:
        """Create through the inner side."""
        return self.inner.create(ops)

    def update(self, ops: Sequence[WriteOp]) -> list[WriteResult]:
        """Update through the inner side."""
        return self.inner.update(ops)

    def delete(self, ops: Sequence[WriteOp]) -> list[WriteResult]:
        """Delete through the inner side."""
        return self.inner.delete(ops)


def _read_token(token: str | None, calendar: str) -> str | None:
    """The Calendar sync token inside ``token`` when it belongs to ``calendar`` (else None: list in full)."""
    if not token:
        return None
    try:
        data = json.loads(token)
    except ValueError:
        return None
    if not isinstance(data, dict) or data.get("calendar") != calendar or not isinstance(data.get("token"), str):
        return None
    return str(data["token"])
