"""Google Tasks API v1: task lists and tasks (routes, seeding and dumping).

Behaviour notes (Google's, reproduced here):
* There are no sync tokens. Incremental listing is ``updatedMin`` + ``showDeleted`` +
  ``showHidden``; deleted tasks stay as tombstones with ``deleted: true``.
* A deleted task is still returned by ``tasks.get`` (with ``deleted: true``) and can be
  restored with ``patch {"deleted": false}``, as observed on the real API; it only
  disappears from ``tasks.list`` unless ``showDeleted=true``.
* ``parent``/``position`` are output-only: order changes only through ``move`` and the
  ``parent``/``previous`` parameters of ``insert``. Insert without ``previous`` puts the
  task first among its siblings. Subtasks nest one level deep, as in Google's apps.
* Without ``updatedMin`` tasks are listed in display order (each top-level task followed by
  its subtasks); with ``updatedMin`` in order of modification, so a task changed while a
  client pages is seen again later rather than missed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .core import SCOPE_TASKS, SCOPE_TASKS_RO, TASKS, Ctx, EmulatorState, parse_rfc3339, route
from .realism import page_limit
from .tasks_io import (
    apply_task_body,
    bool_param,
    decode_token,
    encode_token,
    int_param,
    invalid,
    render_list,
    render_task,
    validate_task_body,
)
from .tasks_seed import dump, seed
from .tasks_store import (
    TaskListRec,
    TaskRec,
    TasksStore,
    etag_for,
    limit,
    micros,
    not_found,
    quota_error,
    scan,
    start_index,
    store_of,
)

READ = frozenset({SCOPE_TASKS, SCOPE_TASKS_RO})
WRITE = frozenset({SCOPE_TASKS})
LISTS = "/tasks/v1/users/@me/lists"
TASKS_OF = "/tasks/v1/lists/{tasklist}/tasks"
# No expire_sync_tokens: the Tasks API has no sync tokens. Controls seed and dump through these.
__all__ = ["dump", "seed", "store_of"]


def _ctx_store(ctx: Ctx) -> TasksStore:
    return store_of(ctx.acct, ctx.state)


# --------------------------------------------------------------------------- task lists


@route("GET", LISTS, api=TASKS, method_id="tasks.tasklists.list", scopes=READ)
def list_tasklists(ctx: Ctx) -> dict[str, Any]:
    store = _ctx_store(ctx)
    size = int_param(ctx.param("maxResults"), "maxResults", 1000, 1000)
    token = ctx.param("pageToken")
    mode, key, number = decode_token(token) if token else ("l", None, 0)
    after = key[0] if key else -1
    if mode != "l" or not isinstance(after, int):
        raise invalid("Invalid page token: it belongs to another listing.", "pageToken")
    size = page_limit(ctx, size, number)  # short or empty pages when asked (realism.py)
    ordered = [rec for rec in store.lists.values() if rec.seq > after]  # dicts keep creation order
    page = ordered[:size]
    out: dict[str, Any] = {"kind": "tasks#taskLists", "etag": etag_for(store.version)}
    if page:
        out["items"] = [render_list(ctx.state, rec) for rec in page]
    if len(ordered) > size:
        out["nextPageToken"] = encode_token("l", (page[-1].seq,) if page else key, number + 1)
    return out


@route("GET", LISTS + "/{tasklist}", api=TASKS, method_id="tasks.tasklists.get", scopes=READ)
def get_tasklist(ctx: Ctx) -> dict[str, Any]:
    return render_list(ctx.state, _ctx_store(ctx).resolve(ctx.path_params["tasklist"]))


def _list_title(body: dict[str, Any], *, required: bool) -> str | None:
    title = body.get("title")
    if title is None or (isinstance(title, str) and not title.strip()):
        if required:
            raise invalid("Missing title: a task list needs a non-empty title.", "title")
        return None
    if not isinstance(title, str):
        raise invalid("Invalid value for title: expected a string", "title")
    if len(title) > 1024:
        raise invalid(f"Invalid value for title: {len(title)} characters, the maximum is 1024.", "title")
    return title


@route("POST", LISTS, api=TASKS, method_id="tasks.tasklists.insert", scopes=WRITE)
def insert_tasklist(ctx: Ctx) -> dict[str, Any]:
    title = _list_title(ctx.json(), required=True)
    assert title is not None
    return render_list(ctx.state, _ctx_store(ctx).new_list(ctx.state, title))


def _write_tasklist(ctx: Ctx, *, replace: bool) -> dict[str, Any]:
    store = _ctx_store(ctx)
    rec = store.resolve(ctx.path_params["tasklist"])
    title = _list_title(ctx.json(), required=replace)
    if title is not None:
        rec.title = title
    store.touch_list(ctx.state, rec)
    return render_list(ctx.state, rec)


@route("PATCH", LISTS + "/{tasklist}", api=TASKS, method_id="tasks.tasklists.patch", scopes=WRITE)
def patch_tasklist(ctx: Ctx) -> dict[str, Any]:
    return _write_tasklist(ctx, replace=False)


@route("PUT", LISTS + "/{tasklist}", api=TASKS, method_id="tasks.tasklists.update", scopes=WRITE)
def update_tasklist(ctx: Ctx) -> dict[str, Any]:
    return _write_tasklist(ctx, replace=True)


@route("DELETE", LISTS + "/{tasklist}", api=TASKS, method_id="tasks.tasklists.delete", scopes=WRITE)
def delete_tasklist(ctx: Ctx) -> tuple[int, None]:
    store = _ctx_store(ctx)
    rec = store.resolve(ctx.path_params["tasklist"])
    if rec.id == store.default_id:
        raise invalid("The default task list cannot be deleted.", "tasklist")
    store.drop_list(rec)  # its tasks go with it
    return 204, None


# --------------------------------------------------------------------------- tasks


def _task(rec: TaskListRec, task_id: str) -> TaskRec:
    task = rec.tasks.get(task_id)
    if task is None:
        raise not_found(f"task {task_id!r} in list {rec.id}")
    return task


def _bound(ctx: Ctx, name: str) -> datetime | None:
    value = ctx.param(name)
    return parse_rfc3339(value, name) if value is not None else None


@route("GET", TASKS_OF, api=TASKS, method_id="tasks.tasks.list", scopes=READ)
def list_tasks(ctx: Ctx) -> dict[str, Any]:
    rec = _ctx_store(ctx).resolve(ctx.path_params["tasklist"])
    size = int_param(ctx.param("maxResults"), "maxResults", 20, 100)
    show_completed = bool_param(ctx.param("showCompleted"), "showCompleted", True)
    show_deleted = bool_param(ctx.param("showDeleted"), "showDeleted", False)
    show_hidden = bool_param(ctx.param("showHidden"), "showHidden", False)
    updated_min = _bound(ctx, "updatedMin")
    # Date bounds: lower bounds inclusive, upper bounds exclusive.
    due_min, due_max = _bound(ctx, "dueMin"), _bound(ctx, "dueMax")
    done_min, done_max = _bound(ctx, "completedMin"), _bound(ctx, "completedMax")
    due_lo = due_min.timestamp() if due_min else None
    due_hi = due_max.timestamp() if due_max else None

    def keep(t: TaskRec) -> bool:
        if (t.deleted and not show_deleted) or (t.hidden and not show_hidden):
            return False
        if t.status == "completed" and not show_completed:
            return False
        if updated_min is not None and t.updated < updated_min:
            return False
        if due_lo is not None or due_hi is not None:
            if t.due is None:
                return False
            due = parse_rfc3339(t.due, "due").timestamp()
            if (due_lo is not None and due < due_lo) or (due_hi is not None and due >= due_hi):
                return False
        if done_min is not None or done_max is not None:
            if t.completed is None:
                return False
            if (done_min is not None and t.completed < done_min) or (done_max is not None and t.completed >= done_max):
                return False
        return True

    token = ctx.param("pageToken")
    mode, after, number = decode_token(token) if token else ("u" if updated_min else "p", None, 0)
    size = page_limit(ctx, size, number)  # short or empty pages when asked (realism.py)
    if mode == "u":
        index: list[Any] = rec.by_updated
        begin = start_index(index, after, (micros(updated_min),) if updated_min else None)
    elif mode == "p":
        index = rec.order
        begin = start_index(index, after)
    else:
        raise invalid("Invalid page token: it belongs to another listing.", "pageToken")
    items: list[TaskRec]
    if size == 0:  # an empty page that resumes where it began, if anything is left
        found, stop = scan(rec, index, begin, keep, 1, scan_limit=1000)
        items, resume = [], (after or ()) if found else stop
    else:
        items, resume = scan(rec, index, begin, keep, size, scan_limit=max(1000, 20 * size))
    out: dict[str, Any] = {"kind": "tasks#tasks", "etag": etag_for(rec.version)}
    if items:
        out["items"] = [render_task(ctx.state, rec, t) for t in items]
    if resume is not None:
        out["nextPageToken"] = encode_token(mode, resume, number + 1)
    return out


@route("GET", TASKS_OF + "/{task}", api=TASKS, method_id="tasks.tasks.get", scopes=READ)
def get_task(ctx: Ctx) -> dict[str, Any]:
    rec = _ctx_store(ctx).resolve(ctx.path_params["tasklist"])
    return render_task(ctx.state, rec, _task(rec, ctx.path_params["task"]))


def _check_parent(
    rec: TaskListRec, parent: str | None, moving: TaskRec | None, state: EmulatorState, *, has_children: bool = False
) -> None:
    if parent is None:
        return
    target = rec.tasks.get(parent)
    if target is None or target.deleted:
        raise not_found(f"parent task {parent!r} in list {rec.id}")
    if target.hidden:
        raise invalid(f"Invalid parent: task {parent!r} is hidden.", "parent")
    if target.parent is not None:
        raise invalid(f"Invalid parent: task {parent!r} is itself a subtask (one level of nesting).", "parent")
    if moving is not None:
        if moving.id == parent:
            raise invalid("Invalid parent: a task cannot be its own parent.", "parent")
        if has_children:
            raise invalid("Invalid parent: a task that has subtasks cannot become a subtask.", "parent")
    if len(rec.siblings.get(parent, [])) >= limit(state, "tasks.max_subtasks"):
        raise quota_error(f"Task {parent!r} already has the maximum of {limit(state, 'tasks.max_subtasks')} subtasks.")


def _check_previous(rec: TaskListRec, previous: str | None, parent: str | None, moving: TaskRec | None) -> None:
    if previous is None:
        return
    prev = rec.tasks.get(previous)
    if prev is None or prev.deleted:
        raise not_found(f"previous task {previous!r} in list {rec.id}")
    if moving is not None and prev.id == moving.id:
        raise invalid("Invalid previous: a task cannot follow itself.", "previous")
    if prev.parent != parent:
        raise invalid(f"Invalid previous: task {previous!r} is not a sibling under the requested parent.", "previous")


@route("POST", TASKS_OF, api=TASKS, method_id="tasks.tasks.insert", scopes=WRITE)
def insert_task(ctx: Ctx) -> dict[str, Any]:
    store = _ctx_store(ctx)
    rec = store.resolve(ctx.path_params["tasklist"])
    body = ctx.json()
    parent, previous = ctx.param("parent") or None, ctx.param("previous") or None
    validate_task_body(body)
    _check_parent(rec, parent, None, ctx.state)
    _check_previous(rec, previous, parent, None)
    store.check_room(ctx.state, rec, visible=1, total=1)
    task = store.new_task(ctx.state, rec)
    apply_task_body(ctx.state, store, rec, task, {**body, "deleted": None}, replace=True)
    rec.place(task, parent, previous)
    store.touch(ctx.state, rec, task)
    return render_task(ctx.state, rec, task)


def _write_task(ctx: Ctx, *, replace: bool) -> dict[str, Any]:
    store = _ctx_store(ctx)
    rec = store.resolve(ctx.path_params["tasklist"])
    task = _task(rec, ctx.path_params["task"])
    body = ctx.json()
    if body.get("id") not in (None, task.id):
        raise invalid(f"The task id in the body ({body['id']!r}) does not match the URL ({task.id!r}).", "id")
    apply_task_body(ctx.state, store, rec, task, body, replace=replace)
    store.touch(ctx.state, rec, task)
    return render_task(ctx.state, rec, task)


@route("PATCH", TASKS_OF + "/{task}", api=TASKS, method_id="tasks.tasks.patch", scopes=WRITE)
def patch_task(ctx: Ctx) -> dict[str, Any]:
    return _write_task(ctx, replace=False)


@route("PUT", TASKS_OF + "/{task}", api=TASKS, method_id="tasks.tasks.update", scopes=WRITE)
def update_task(ctx: Ctx) -> dict[str, Any]:
    return _write_task(ctx, replace=True)


@route("DELETE", TASKS_OF + "/{task}", api=TASKS, method_id="tasks.tasks.delete", scopes=WRITE)
def delete_task(ctx: Ctx) -> tuple[int, None]:
    store = _ctx_store(ctx)
    rec = store.resolve(ctx.path_params["tasklist"])
    task = _task(rec, ctx.path_params["task"])
    # Deleting again answers 204 too (a retried delete must not fail); subtasks go with the parent.
    for t in [task, *rec.children(task.id)]:
        if not t.deleted:
            store.set_flags(rec, t, deleted=True)
            store.touch(ctx.state, rec, t)
    return 204, None


@route("POST", "/tasks/v1/lists/{tasklist}/clear", api=TASKS, method_id="tasks.tasks.clear", scopes=WRITE)
def clear_tasks(ctx: Ctx) -> tuple[int, None]:
    store = _ctx_store(ctx)
    rec = store.resolve(ctx.path_params["tasklist"])
    for t in list(rec.tasks.values()):
        if t.status == "completed" and not t.hidden and not t.deleted:
            store.set_flags(rec, t, hidden=True)
            store.touch(ctx.state, rec, t)
    return 204, None


@route("POST", TASKS_OF + "/{task}/move", api=TASKS, method_id="tasks.tasks.move", scopes=WRITE)
def move_task(ctx: Ctx) -> dict[str, Any]:
    store = _ctx_store(ctx)
    src = store.resolve(ctx.path_params["tasklist"])
    task = _task(src, ctx.path_params["task"])
    dest_id = ctx.param("destinationTasklist")
    dest = store.resolve(dest_id) if dest_id else src
    parent, previous = ctx.param("parent") or None, ctx.param("previous") or None
    if task.deleted:
        raise invalid(f"Task {task.id!r} is deleted and cannot be moved.", "task")
    if task.hidden and (parent or previous):
        raise invalid(
            "A completed and cleared (hidden) task can only be moved to the first top-level position.", "parent"
        )
    family = [task, *src.children(task.id)]
    _check_parent(dest, parent, task, ctx.state, has_children=len(family) > 1)
    _check_previous(dest, previous, parent, task)
    if dest is not src:
        store.check_room(ctx.state, dest, visible=sum(int(t.counts_visible) for t in family), total=0)
        for t in reversed(family):
            store.remove_from(src, t)
        for t in family:
            store.adopt(dest, t)
        rec = dest
        rec.place(task, parent, previous)
        for child in family[1:]:
            rec.append(child, task.id)
            store.touch(ctx.state, rec, child)
    else:
        rec = src
        rec.unplace(task)
        rec.place(task, parent, previous)
    store.touch(ctx.state, rec, task)
    return render_task(ctx.state, rec, task)
