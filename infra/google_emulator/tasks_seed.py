"""Seeding and dumping an account's Tasks data (called by the emulator's control endpoints)."""

from __future__ import annotations

from typing import Any

from .core import Account, EmulatorState, parse_rfc3339
from .tasks_io import apply_task_body, invalid, render_task, validate_task_body
from .tasks_store import TaskListRec, TaskRec, TasksStore, store_of


def _seed_task(state: EmulatorState, store: TasksStore, rec: TaskListRec, data: dict[str, Any]) -> TaskRec:
    if not isinstance(data, dict):
        raise invalid(f"A seeded task must be an object, got {type(data).__name__}.")
    task_id = data.get("id")
    if task_id is not None and (not isinstance(task_id, str) or task_id in rec.tasks):
        raise invalid(f"Seeded task id {task_id!r} is not a string or is used twice in list {rec.title!r}.", "id")
    parent = data.get("parent")
    if parent is not None and (parent not in rec.tasks or rec.tasks[parent].parent is not None):
        raise invalid(
            f"Seeded task {task_id or data.get('title')!r}: parent {parent!r} must be an earlier top-level task of the same list.",
            "parent",
        )
    body: dict[str, Any] = {
        k: data[k] for k in ("title", "notes", "status", "due", "completed", "deleted") if k in data
    }
    validate_task_body(body)
    task = store.new_task(state, rec, task_id)
    apply_task_body(state, store, rec, task, body, replace=True)
    if data.get("hidden"):
        store.set_flags(rec, task, hidden=True)
    task.links = [dict(link) for link in data.get("links", [])]
    rec.append(task, parent)
    store.touch(state, rec, task, parse_rfc3339(data["updated"], "updated") if data.get("updated") else None)
    return task


def seed(account: Account, state: EmulatorState, data: dict[str, Any]) -> dict[str, Any]:
    """Load ``{"tasklists": {"<title>" | "@default": [Task, ...]}}`` into ``account``.

    Lists are found by title (created when missing); tasks are appended in the given order
    (a ``parent`` must name an earlier task of the same list). Output-only fields ``hidden``,
    ``deleted`` and ``updated`` are honoured so tests can stage any state. Storage limits
    are not enforced here. Returns ``{"tasklists": {"<title>": {"id", "taskIds"}}}``."""
    lists = data.get("tasklists", {})
    if not isinstance(lists, dict):
        raise invalid('Seed data must look like {"tasklists": {"My Tasks": [Task, ...]}}.', "tasklists")
    with state.lock:
        store = store_of(account, state)
        result: dict[str, Any] = {}
        for title, tasks in lists.items():
            if not isinstance(tasks, list):
                raise invalid(f"Seed data for task list {title!r} must be a list of tasks.", "tasklists")
            if title == "@default":
                rec = store.resolve("@default")
            else:
                found = [r for r in store.lists.values() if r.title == title]
                rec = found[0] if found else store.new_list(state, title)
            ids = [_seed_task(state, store, rec, t).id for t in tasks]
            result[title] = {"id": rec.id, "taskIds": ids}
        return {"tasklists": result}


def dump(account: Account, state: EmulatorState) -> dict[str, Any]:
    """The account's tasks as ``{"tasklists": {"<title>": [Task, ...]}}`` in display order.

    Deleted and hidden tasks are included (flagged). A title used by more than one list
    is written ``"<title> [<list id>]"`` for the later lists."""
    with state.lock:
        store = store_of(account, state)
        out: dict[str, Any] = {}
        for rec in store.lists.values():
            key = rec.title if rec.title not in out else f"{rec.title} [{rec.id}]"
            out[key] = [render_task(state, rec, rec.tasks[k[-1]]) for k in rec.order]
        return {"tasklists": out}
