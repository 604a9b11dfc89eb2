"""Tasks v1 data of one account: task lists, tasks, sibling positions and an updated index.

Every list keeps three sorted indexes (plain lists kept sorted with ``bisect``) so
that a page of ``tasks.list`` costs O(page · log n), not O(all tasks):

* ``order``: display order, each top-level task followed by its subtasks;
* ``by_updated``: (updated, change number) for ``updatedMin`` listings;
* ``siblings``: per parent, the positions used by insert/move.
"""

from __future__ import annotations

import base64
import hashlib
from bisect import bisect_left, bisect_right, insort
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .core import TASKS, Account, ApiError, EmulatorState

# Positions are 20-digit zero-padded integers with wide gaps, so inserting at the
# top (the default) or between two siblings rarely needs renumbering.
POS_DIGITS = 20
POS_MAX = 10**POS_DIGITS - 1
POS_FIRST = 1 << 62
POS_GAP = 1 << 32

DEFAULT_LIMITS = {
    "tasks.max_visible_per_list": 20_000,  # non-hidden, non-deleted tasks in one list
    "tasks.max_total": 100_000,  # non-deleted tasks of the account
    "tasks.max_lists": 2_000,
    "tasks.max_subtasks": 2_000,
}

OrderKey = tuple[int, int, int, int, str]
UpdKey = tuple[int, int, str]


def limit(state: EmulatorState, name: str) -> int:
    """A Tasks limit, overridable through ``state.extras[name]`` (tests use small ones)."""
    return int(state.extras.get(name, DEFAULT_LIMITS[name]))


def quota_error(message: str) -> ApiError:
    """The 403 Google answers when a storage limit is reached."""
    return ApiError(403, message, reason="quotaExceeded", status="PERMISSION_DENIED")


def not_found(what: str) -> ApiError:
    return ApiError(404, f"Requested entity was not found ({what}).", reason="notFound")


def make_id(state: EmulatorState, salt: str) -> str:
    """A Google-looking opaque id (22 url-safe base64 characters)."""
    raw = hashlib.sha256(f"{salt}:{state.next_id()}".encode()).digest()[:16]
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def etag_for(n: int) -> str:
    return '"' + base64.urlsafe_b64encode(f"{n:015d}".encode()).decode().rstrip("=") + '"'


def ms(when: datetime) -> datetime:
    """``when`` truncated to milliseconds (the precision Google reports)."""
    return when.replace(microsecond=when.microsecond // 1000 * 1000)


def micros(when: datetime) -> int:
    return int(when.timestamp()) * 1_000_000 + when.microsecond


@dataclass(eq=False)
class TaskRec:
    """One task as stored (rendering lives in ``tasks.py``)."""

    id: str
    seq: int
    updated: datetime
    change: int
    title: str = ""
    notes: str | None = None
    status: str = "needsAction"
    due: str | None = None  # "YYYY-MM-DDT00:00:00.000Z"
    completed: datetime | None = None
    deleted: bool = False
    hidden: bool = False
    parent: str | None = None
    pos: int = 0
    links: list[dict[str, Any]] = field(default_factory=list)
    order_key: OrderKey | None = None
    upd_key: UpdKey | None = None

    @property
    def counts_visible(self) -> bool:
        return not self.deleted and not self.hidden


@dataclass(eq=False)
class TaskListRec:
    """One task list with its tasks and indexes."""

    id: str
    seq: int
    title: str
    updated: datetime
    change: int
    tasks: dict[str, TaskRec] = field(default_factory=dict)
    order: list[OrderKey] = field(default_factory=list)
    by_updated: list[UpdKey] = field(default_factory=list)
    siblings: dict[str, list[tuple[int, int, str]]] = field(default_factory=dict)
    version: int = 0
    visible: int = 0  # non-deleted, non-hidden tasks

    # ----------------------------------------------------------------- indexes

    def order_key_of(self, task: TaskRec) -> OrderKey:
        if task.parent is None:
            return (task.pos, task.seq, -1, 0, task.id)
        parent = self.tasks[task.parent]
        return (parent.pos, parent.seq, task.pos, task.seq, task.id)

    def _reorder(self, task: TaskRec) -> None:
        if task.order_key is not None:
            del self.order[bisect_left(self.order, task.order_key)]
        task.order_key = self.order_key_of(task)
        insort(self.order, task.order_key)

    def reindex_updated(self, task: TaskRec) -> None:
        if task.upd_key is not None:
            del self.by_updated[bisect_left(self.by_updated, task.upd_key)]
        task.upd_key = (micros(task.updated), task.change, task.id)
        insort(self.by_updated, task.upd_key)

    def children(self, task_id: str) -> list[TaskRec]:
        """Subtasks of ``task_id`` in position order."""
        return [self.tasks[i] for _, _, i in self.siblings.get(task_id, [])]

    def _set_pos(self, task: TaskRec, pos: int) -> None:
        sib = self.siblings.setdefault(task.parent or "", [])
        if task.order_key is not None:
            del sib[bisect_left(sib, (task.pos, task.seq, task.id))]
        task.pos = pos
        insort(sib, (pos, task.seq, task.id))
        self._reorder(task)
        if task.parent is None:
            for child in self.children(task.id):
                self._reorder(child)

    def place(self, task: TaskRec, parent: str | None, previous: str | None) -> None:
        """Put ``task`` (already in ``tasks``, not yet placed) under ``parent`` right after ``previous``."""
        task.parent = parent
        sib = self.siblings.setdefault(parent or "", [])
        index = 0 if previous is None else bisect_left(sib, self._sib_key(previous)) + 1
        lo = sib[index - 1][0] if index > 0 else None
        hi = sib[index][0] if index < len(sib) else None
        pos = _between(lo, hi)
        if pos is None:
            self._renumber(parent or "", gap_at=index)
            pos = POS_FIRST + index * POS_GAP
        self._set_pos(task, pos)

    def append(self, task: TaskRec, parent: str | None) -> None:
        """Place ``task`` last among the children of ``parent`` (top level when None)."""
        sib = self.siblings.get(parent or "")
        self.place(task, parent, sib[-1][2] if sib else None)

    def unplace(self, task: TaskRec) -> None:
        """Remove ``task`` from the position indexes (not from ``tasks``)."""
        sib = self.siblings.get(task.parent or "", [])
        del sib[bisect_left(sib, (task.pos, task.seq, task.id))]
        if task.order_key is not None:
            del self.order[bisect_left(self.order, task.order_key)]
        task.order_key = None

    def _sib_key(self, task_id: str) -> tuple[int, int, str]:
        t = self.tasks[task_id]
        return (t.pos, t.seq, t.id)

    def _renumber(self, parent_key: str, gap_at: int) -> None:
        # Rare: no gap left. Spread the siblings out again, leaving a hole at gap_at.
        ids = [i for _, _, i in self.siblings[parent_key]]
        for n, task_id in enumerate(ids):
            slot = n if n < gap_at else n + 1
            self._set_pos(self.tasks[task_id], POS_FIRST + slot * POS_GAP)

    def iter_from(self, index: list[Any], start: int) -> Iterator[tuple[Any, TaskRec]]:
        for i in range(start, len(index)):
            key = index[i]
            yield key, self.tasks[key[-1]]


def _between(lo: int | None, hi: int | None) -> int | None:
    """A free position strictly between two neighbours, or None if there is no room."""
    if lo is None and hi is None:
        return POS_FIRST
    if lo is None:
        assert hi is not None
        return hi - POS_GAP if hi >= POS_GAP else (hi // 2 if hi > 0 else None)
    if hi is None:
        return lo + POS_GAP if lo + POS_GAP <= POS_MAX else ((lo + POS_MAX) // 2 if POS_MAX - lo >= 2 else None)
    return (lo + hi) // 2 if hi - lo >= 2 else None


class TasksStore:
    """All task lists of one account (insertion order = ``tasklists.list`` order)."""

    def __init__(self) -> None:
        self.lists: dict[str, TaskListRec] = {}
        self.default_id: str | None = None
        self.total = 0  # non-deleted tasks over all lists
        self.version = 0

    def ensure_default(self, state: EmulatorState, subject: str) -> TaskListRec:
        """The default list "My Tasks", created on first use."""
        if self.default_id is None:
            # Google's default list id is base64("<digits>:0:0").
            raw = f"{int(subject) % 10**20:020d}:0:0".encode()
            list_id = base64.urlsafe_b64encode(raw).decode().rstrip("=")
            self._add_list(state, list_id, "My Tasks")
            self.default_id = list_id
        return self.lists[self.default_id]

    def new_list(self, state: EmulatorState, title: str) -> TaskListRec:
        """Create a list, enforcing the per-account list limit."""
        if len(self.lists) >= limit(state, "tasks.max_lists"):
            raise quota_error(f"Too many task lists: an account can have at most {limit(state, 'tasks.max_lists')}.")
        return self._add_list(state, make_id(state, "list"), title)

    def _add_list(self, state: EmulatorState, list_id: str, title: str) -> TaskListRec:
        n = state.next_id()
        rec = TaskListRec(id=list_id, seq=n, title=title, updated=ms(state.clock.now()), change=n)
        self.lists[list_id] = rec
        self.version += 1
        return rec

    def resolve(self, list_id: str) -> TaskListRec:
        """The list for an id or ``@default``; 404 otherwise."""
        key = self.default_id if list_id == "@default" else list_id
        rec = self.lists.get(key or "")
        if rec is None:
            raise not_found(f"task list {list_id!r}")
        return rec

    def drop_list(self, rec: TaskListRec) -> None:
        self.total -= sum(1 for t in rec.tasks.values() if not t.deleted)
        del self.lists[rec.id]
        self.version += 1

    def touch_list(self, state: EmulatorState, rec: TaskListRec) -> None:
        rec.change = state.next_id()
        rec.updated = ms(state.clock.now())
        self.version += 1

    # ----------------------------------------------------------------- tasks

    def check_room(self, state: EmulatorState, rec: TaskListRec, *, visible: int, total: int) -> None:
        """403 if adding ``visible``/``total`` tasks to ``rec`` would pass Google's limits."""
        per_list = limit(state, "tasks.max_visible_per_list")
        if visible and rec.visible + visible > per_list:
            raise quota_error(f"Task list {rec.id} is full: at most {per_list} non-hidden tasks per list.")
        cap = limit(state, "tasks.max_total")
        if total and self.total + total > cap:
            raise quota_error(f"Task storage limit reached: an account can have at most {cap} tasks.")

    def new_task(self, state: EmulatorState, rec: TaskListRec, task_id: str | None = None) -> TaskRec:
        """A fresh, unplaced task stored in ``rec`` (caller fills fields, then ``place`` and ``touch``)."""
        n = state.next_id()
        task = TaskRec(id=task_id or make_id(state, "task"), seq=n, updated=ms(state.clock.now()), change=n)
        rec.tasks[task.id] = task
        rec.visible += 1
        self.total += 1
        return task

    def set_flags(
        self, rec: TaskListRec, task: TaskRec, *, deleted: bool | None = None, hidden: bool | None = None
    ) -> None:
        """Change deleted/hidden keeping the limit counters right."""
        before_visible, before_live = task.counts_visible, not task.deleted
        if deleted is not None:
            task.deleted = deleted
        if hidden is not None:
            task.hidden = hidden
        rec.visible += int(task.counts_visible) - int(before_visible)
        self.total += int(not task.deleted) - int(before_live)

    def touch(self, state: EmulatorState, rec: TaskListRec, task: TaskRec, when: datetime | None = None) -> None:
        """Record a change of ``task``: new etag, ``updated`` and index entry."""
        task.change = state.next_id()
        task.updated = ms(when or state.clock.now())
        rec.reindex_updated(task)
        rec.version += 1

    def remove_from(self, rec: TaskListRec, task: TaskRec) -> None:
        """Take ``task`` out of ``rec`` entirely (used when moving to another list)."""
        rec.unplace(task)
        if task.upd_key is not None:
            del rec.by_updated[bisect_left(rec.by_updated, task.upd_key)]
            task.upd_key = None
        del rec.tasks[task.id]
        rec.visible -= int(task.counts_visible)
        self.total -= int(not task.deleted)
        rec.version += 1

    def adopt(self, rec: TaskListRec, task: TaskRec) -> None:
        """Add an existing (unplaced) task to ``rec``."""
        rec.tasks[task.id] = task
        rec.visible += int(task.counts_visible)
        self.total += int(not task.deleted)


def scan(
    rec: TaskListRec,
    index: list[Any],
    start: int,
    keep: Callable[[TaskRec], bool],
    size: int,
    scan_limit: int,
) -> tuple[list[TaskRec], Any | None]:
    """Up to ``size`` tasks of ``index`` from ``start`` that pass ``keep``, and the key to resume
    after (None at the end). Stops early after ``scan_limit`` rejected entries, like Google's
    short pages, so one call never walks the whole list."""
    out: list[TaskRec] = []
    last: Any = None
    rejected = 0
    for key, task in rec.iter_from(index, start):
        if keep(task):
            if len(out) == size:
                return out, last
            out.append(task)
            last = key
        else:
            rejected += 1
            if rejected > scan_limit:
                return out, key
    return out, None


def start_index(index: list[Any], after: Any | None, at_least: Any | None = None) -> int:
    """Where a scan resumes: after the token key, or at the first key >= ``at_least``."""
    if after is not None:
        return bisect_right(index, after)
    if at_least is not None:
        return bisect_left(index, at_least)
    return 0


def store_of(account: Account, state: EmulatorState) -> TasksStore:
    """The account's Tasks data, with its default list."""
    store = account.store(TASKS, TasksStore)
    store.ensure_default(state, account.subject)
    return store
