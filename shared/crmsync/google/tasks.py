"""The Google side of task sync: Google Tasks as a ``RecordSide`` for ``Kind.TASKS``.

Scope: the selected task lists (``TaskOptions.lists``) plus the default list CRM
tasks are created in (``TaskOptions.default_list``, or a list titled
``default_list_title`` found or created on demand; its id travels in the token).
Google ids are task ids; the list of each task is remembered from listings and
creates, and looked up with one batch of gets when several lists are synced.

Listing: no sync tokens in Tasks, so each list is listed with ``updatedMin`` from
a watermark (``tasks_watermark``) with ``showDeleted`` and ``showHidden`` on.
Rules: ``deleted: true`` is a deletion; ``hidden`` is not (Google hides tasks
completed in its own apps as well as tasks cleared with "clear completed", and
the two look the same), so a hidden task is a completed task like any other.

Writes go through the Tasks HTTP batch endpoint. Tasks has no etags on writes,
so updates are unconditional PATCHes of the changed fields only; creates are
made idempotent by creation intents (``intents``).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from ..model.field_mapping import MappedFields
from ..model.kinds import Kind
from ..model.link import Canon, content_hash
from ..model.names import plain_name
from ..model.normalise import InvalidValue, unreadable
from ..model.task import TaskOptions
from ..ports import Change, Listing, OpCounter, WriteOp, WriteResult
from . import tasks_custom
from .batch import BatchRunner, Call, Outcome
from .errors import NotFound, Transient
from .gone import task_list_gone
from .intents import Intent, IntentStore
from .paging import fetch_all
from .retry import Caller
from .tasks_mapping import GoogleTask, insert_body, patch_body, task_canon
from .tasks_watermark import ListMark, Watermark, decode, rfc3339, seen_key
from .write_results import gone_since_read

PAGE_SIZE = 100  # the Tasks maximum
DEFAULT_OVERLAP = timedelta(seconds=60)
DEFAULT_BATCH_SIZE = 100  # Google allows 1000 calls per batch; Tasks is safer well below that
TASK = "the task"


class GoogleTasks:
    """Google tasks of the selected lists in canonical form."""

    kind = Kind.TASKS

    def __init__(
        self,
        service: Any,
        batch_uri: str,
        *,
        options: TaskOptions,
        intents: IntentStore,
        counter: OpCounter,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        overlap: timedelta = DEFAULT_OVERLAP,
        batch_size: int = DEFAULT_BATCH_SIZE,
        sleep: Callable[[float], None] = time.sleep,
        rng: Callable[[], float] = random.random,
        attempts: int = 5,
        mapped: MappedFields | None = None,
    ) -> None:
        if overlap < timedelta(0):
            raise ValueError(f"overlap must not be negative, got {overlap}")
        self.service = service
        self.options = options
        self.mapped = mapped or MappedFields()  # the admin's custom fields of tasks (lines of the notes)
        self.intents = intents
        self.counter = counter
        self.clock = clock
        self.overlap = overlap
        self.call = Caller(counter, sleep=sleep, rng=rng, attempts=attempts)
        self.batches = BatchRunner(
            batch_uri, counter, api="tasks", max_batch=batch_size, attempts=attempts, sleep=sleep, rng=rng
        )
        self._default: str | None = options.default_list
        self._where: dict[str, str] = {}  # task id -> list id
        self._searched = False  # the default list was looked for by title (and not found) this run
        self._generation = 0  # issued by the last listing; intents carry it

    # ------------------------------------------------------------------ plumbing

    @property
    def default_list_id(self) -> str | None:
        """The list CRM tasks are created in, once known."""
        return self._default

    def default_list(self, *, create: bool) -> str | None:
        """The default list's id: configured, remembered, found by title, or (``create``) created."""
        title = self.options.default_list_title
        lists = self.service.tasklists()
        if self._default is None and not self._searched:
            self._searched = True  # look once per run

            def page(token: str | None) -> dict[str, Any]:
                extra = {"pageToken": token} if token else {}
                return self.call("tasks.tasklists.list", lambda: lists.list(maxResults=1000, **extra))

            found = [i for i in fetch_all(page, "items").items if i.get("title") == title]
            self._default = str(found[0]["id"]) if found else None
        if self._default is None and create:
            made = self.call("tasks.tasklists.insert", lambda: lists.insert(body={"title": title}))
            self._default = str(made["id"])
        return self._default

    def scope_lists(self) -> list[str]:
        """The lists synced: the default list (when it exists) and the selected ones."""
        return list(dict.fromkeys([*([self._default] if self._default else []), *self.options.lists]))

    # ------------------------------------------------------------------ listing

    def list_changes(self, token: str | None) -> Listing:
        """Changes of every synced list since the token's watermarks (a full listing without one)."""
        old = decode(token)
        full = old is None
        old = old or Watermark()
        if self._default is None and old.default_list and self.options.default_list is None:
            self._default = old.default_list
        self.default_list(create=False)
        now = self.clock()
        marks: dict[str, ListMark] = {}
        fresh: list[tuple[str, GoogleTask]] = []
        for list_id in self.scope_lists():
            mark = None if full else old.lists.get(list_id)
            items = self._list(list_id, mark, tombstones=not full)
            new = [t for t in items if mark is None or seen_key(t.id, t.updated) not in mark.seen]
            marks[list_id] = self._next_mark(mark, items, now)
            fresh.extend((list_id, t) for t in new)
        draft = Watermark(old.generation, self._default, marks)
        issued = draft if draft == old else Watermark(old.generation + 1, self._default, marks)
        self._generation = issued.generation
        hints = self._hints(fresh, old.generation) if fresh else {}
        changes = [self._change(t, hints.get(t.id)) for _, t in fresh]
        return Listing(changes, issued.encode(), full)

    def _list(self, list_id: str, mark: ListMark | None, *, tombstones: bool) -> list[GoogleTask]:
        params: dict[str, Any] = {
            "tasklist": list_id,
            "maxResults": PAGE_SIZE,
            "showCompleted": True,
            "showHidden": True,
            # Tombstones matter to incremental runs, also for a list without a mark yet (the
            # default list created by the previous run's writes).
            "showDeleted": tombstones,
        }
        if mark is not None:
            params["updatedMin"] = mark.updated_min
        tasks = self.service.tasks()

        def page(token: str | None) -> dict[str, Any]:
            extra = {"pageToken": token} if token else {}
            return self.call("tasks.tasks.list", lambda: tasks.list(**params, **extra))

        try:
            items = fetch_all(page, "items").items
        except NotFound as err:
            raise task_list_gone(list_id, self.options) from err
        out = [GoogleTask.model_validate(i) for i in items]
        for task in out:
            self._where[task.id] = list_id
        return out

    def _next_mark(self, mark: ListMark | None, items: list[GoogleTask], now: datetime) -> ListMark:
        """Keep the mark when nothing was listed (a quiet run issues the same token);
        otherwise move it to now - overlap and remember what inside the window was seen."""
        if mark is not None and not items:
            return mark
        start = now - self.overlap
        seen = frozenset(seen_key(t.id, t.updated) for t in items if (t.updated_at or start) >= start)
        return ListMark(rfc3339(start), seen)

    def _hints(self, fresh: list[tuple[str, GoogleTask]], generation: int) -> dict[str, str]:
        """CRM ids of listed tasks that our own creates made (by task id, else by list + content)."""
        pending = self.intents.pending()
        # Intents of runs whose token was superseded by a later saved one: their links were saved.
        done = [i.crm_id for i in pending if i.generation < generation]
        if done:
            self.intents.forget(done)
        live = [i for i in pending if i.generation >= generation]
        by_task = {i.task_id: i.crm_id for i in live if i.task_id}
        loose = [i for i in live if not i.task_id]
        hints: dict[str, str] = {}
        for list_id, task in fresh:
            if task.deleted:
                continue
            if task.id in by_task:
                hints[task.id] = by_task[task.id]
                continue
            match = self._loose_match(loose, list_id, task)
            if match is not None:
                loose.remove(match)
                hints[task.id] = match.crm_id
        return hints

    def _loose_match(self, loose: list[Intent], list_id: str, task: GoogleTask) -> Intent | None:
        if not loose:
            return None
        try:
            digest = content_hash(self._canon(task))
        except InvalidValue:
            return None
        when = task.updated_at
        for intent in loose:
            fits = when is None or when >= intent.created_at - self.overlap
            if intent.list_id == list_id and intent.content == digest and fits:
                return intent
        return None

    def _canon(self, task: GoogleTask) -> Canon:
        """A task's canonical form; mapped custom fields are labelled lines of its notes."""
        notes, values = tasks_custom.split(task.notes, self.mapped)
        return {**task_canon(task.model_copy(update={"notes": notes})), **values}

    def _insert_body(self, full: Canon) -> dict[str, Any]:
        body = insert_body(full)
        if self.mapped and (notes := tasks_custom.join(full, self.mapped)):
            body["notes"] = notes
        return body

    def _patch_body(self, fields: Canon, full: Canon) -> dict[str, Any]:
        body = patch_body(fields, full)
        if self.mapped and tasks_custom.touches_notes(fields, self.mapped):
            body["notes"] = tasks_custom.join(full, self.mapped)
        return body

    def stand_ins(self, record: Canon, wanted: Canon) -> Canon:
        """Custom fields mapped google_to_crm: Google keeps its own value."""
        return self.mapped.kept(record, wanted, crm=False)

    def _change(self, task: GoogleTask, hint: str | None = None) -> Change:
        when = task.updated_at
        if task.deleted:
            return Change(task.id, None, when, task.etag)
        try:
            canon = self._canon(task)
        except Exception as err:  # one record's odd value skips that record, never the run
            name = plain_name(task.title)
            return Change(task.id, None, when, task.etag, crm_id_hint=hint, error=unreadable(err), name=name)
        return Change(task.id, canon, when, task.etag, crm_id_hint=hint)

    # ------------------------------------------------------------------ RecordSide

    def get(self, ids: Sequence[str]) -> dict[str, Change]:
        """Current tasks by id (tasks in no synced list are absent; deleted ones are deletions)."""
        wanted = list(dict.fromkeys(ids))
        where = self._locate(wanted)
        tasks = self.service.tasks()
        calls = [Call("tasks.tasks.get", tasks.get(tasklist=lid, task=tid)) for tid, lid in where.items()]
        out: dict[str, Change] = {}
        for tid, outcome in zip(where, self.batches.run(calls), strict=True):
            if isinstance(outcome, Transient):
                raise outcome
            if isinstance(outcome, dict) and outcome:
                out[tid] = self._change(GoogleTask.model_validate(outcome))
        return out

    def _locate(self, ids: Sequence[str]) -> dict[str, str]:
        """The list of each task id (unknown ones probed in every synced list, one batch)."""
        self.default_list(create=False)
        lists = self.scope_lists()
        where = {i: self._where[i] for i in ids if i in self._where}
        unknown = [i for i in ids if i not in where]
        if not unknown or not lists:
            return where
        if len(lists) == 1:
            return {**where, **dict.fromkeys(unknown, lists[0])}
        tasks = self.service.tasks()
        probes = [(tid, lid) for tid in unknown for lid in lists]
        calls = [Call("tasks.tasks.get", tasks.get(tasklist=lid, task=tid)) for tid, lid in probes]
        for (tid, lid), outcome in zip(probes, self.batches.run(calls), strict=True):
            if not isinstance(outcome, BaseException):
                where[tid] = self._where[tid] = lid
        return where

    def create(self, ops: Sequence[WriteOp]) -> list[WriteResult]:
        """Insert tasks into the default list in batches, each recorded as an intent first."""
        if not ops:
            return []
        list_id = self.default_list(create=True)
        assert list_id is not None
        tasks = self.service.tasks()
        out: list[WriteResult] = []
        for start in range(0, len(ops), self.batches.max_batch):
            part = ops[start : start + self.batches.max_batch]
            made = self.clock()
            intents = [
                Intent(op.crm_id or op.key, list_id, content_hash(op.full), self._generation, made) for op in part
            ]
            self.intents.record(intents)
            calls = [
                Call("tasks.tasks.insert", tasks.insert(tasklist=list_id, body=self._insert_body(op.full)), False)
                for op in part
            ]
            fulfilled = []
            for op, intent, outcome in zip(part, intents, self.batches.run(calls), strict=True):
                if isinstance(outcome, dict) and outcome:
                    task = GoogleTask.model_validate(outcome)
                    self._where[task.id] = list_id
                    fulfilled.append(intent.fulfilled(task.id))
                out.append(self._result(op, outcome))
            if fulfilled:
                self.intents.record(fulfilled)
        return out

    def update(self, ops: Sequence[WriteOp]) -> list[WriteResult]:
        """PATCH the changed fields (Tasks has no conditional writes). A task keeps no CRM id (the
        intents do, until the link is saved): an update that only gives it one sends nothing."""
        bodies = {op.key: self._patch_body(op.fields, op.full) for op in ops}
        todo = [op for op in ops if op.fields or bodies[op.key]]
        where = self._locate([str(op.target_id) for op in todo]) if todo else {}
        tasks = self.service.tasks()
        sent = [op for op in todo if str(op.target_id) in where]
        calls = [
            Call(
                "tasks.tasks.patch",
                tasks.patch(tasklist=where[str(op.target_id)], task=op.target_id, body=bodies[op.key]),
            )
            for op in sent
        ]
        outcomes = {op.key: o for op, o in zip(sent, self.batches.run(calls), strict=True)}
        out = []
        for op in ops:
            if op.key in outcomes:
                out.append(self._result(op, outcomes[op.key], updating=True))
            elif op.fields or bodies[op.key]:
                out.append(gone_since_read(op.key, TASK))  # in no synced list any more: deleted, or moved out of scope
            else:
                out.append(WriteResult(op.key, True, op.target_id, op.version))  # nothing to send
        return out

    def delete(self, ops: Sequence[WriteOp]) -> list[WriteResult]:
        """Delete tasks; one already gone (or in no synced list) counts as deleted."""
        where = self._locate([str(op.target_id) for op in ops])
        tasks = self.service.tasks()
        sent = [op for op in ops if str(op.target_id) in where]
        calls = [
            Call("tasks.tasks.delete", tasks.delete(tasklist=where[str(op.target_id)], task=op.target_id))
            for op in sent
        ]
        outcomes = {op.key: o for op, o in zip(sent, self.batches.run(calls), strict=True)}
        out = []
        for op in ops:
            outcome = outcomes.get(op.key)
            if outcome is None or not isinstance(outcome, BaseException) or isinstance(outcome, NotFound):
                out.append(WriteResult(op.key, True, op.target_id))
            else:
                out.append(self._result(op, outcome))
        return out

    def _result(self, op: WriteOp, outcome: Outcome, *, updating: bool = False) -> WriteResult:
        if not isinstance(outcome, BaseException):
            task = GoogleTask.model_validate(outcome or {"id": op.target_id or ""})
            if updating and task.deleted:
                return gone_since_read(op.key, TASK)  # re-read and re-merge: the delete rules decide
            change = self._change(task)
            return WriteResult(op.key, True, task.id, task.etag, change.canon)
        if isinstance(outcome, NotFound) and updating:
            return gone_since_read(op.key, TASK)
        return WriteResult(op.key, False, error=str(outcome), transient=isinstance(outcome, Transient))
