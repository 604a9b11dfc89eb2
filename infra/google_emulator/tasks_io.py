"""Tasks v1 JSON at the edge: rendering resources, validating writable fields, page tokens."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any

from .core import ApiError, EmulatorState, parse_rfc3339, rfc3339
from .tasks_store import POS_DIGITS, TaskListRec, TaskRec, TasksStore, etag_for, ms

TITLE_MAX = 1024
NOTES_MAX = 8192
STATUSES = ("needsAction", "completed")
GOOGLE_ROOT = "https://www.googleapis.com"


def invalid(message: str, location: str | None = None) -> ApiError:
    """400 ``invalid`` naming the offending field or parameter."""
    return ApiError(400, message, reason="invalid", location=location)


def _root(state: EmulatorState) -> str:
    return str(state.extras.get("base_url") or GOOGLE_ROOT)


def render_list(state: EmulatorState, rec: TaskListRec) -> dict[str, Any]:
    """A ``TaskList`` resource."""
    return {
        "kind": "tasks#taskList",
        "id": rec.id,
        "etag": etag_for(rec.change),
        "title": rec.title,
        "updated": rfc3339(rec.updated),
        "selfLink": f"{_root(state)}/tasks/v1/users/@me/lists/{rec.id}",
    }


def render_task(state: EmulatorState, rec: TaskListRec, task: TaskRec) -> dict[str, Any]:
    """A ``Task`` resource; absent values are omitted as Google does."""
    out: dict[str, Any] = {
        "kind": "tasks#task",
        "id": task.id,
        "etag": etag_for(task.change),
        "title": task.title,
        "updated": rfc3339(task.updated),
        "selfLink": f"{_root(state)}/tasks/v1/lists/{rec.id}/tasks/{task.id}",
        "position": f"{task.pos:0{POS_DIGITS}d}",
        "status": task.status,
        "links": [dict(link) for link in task.links],
        "webViewLink": f"https://tasks.google.com/task/{task.id}?sa=6",
    }
    if task.parent:
        out["parent"] = task.parent
    if task.notes is not None:
        out["notes"] = task.notes
    if task.due is not None:
        out["due"] = task.due
    if task.completed is not None:
        out["completed"] = rfc3339(task.completed)
    if task.deleted:
        out["deleted"] = True
    if task.hidden:
        out["hidden"] = True
    return out


def parse_due(value: Any) -> str:
    """Google keeps only the date of ``due``: the timestamp is taken in UTC and the time dropped.

    So ``2024-05-01T00:30:00+02:00`` becomes ``2024-04-30T00:00:00.000Z`` (a classic off-by-one
    for clients that send local midnight)."""
    if not isinstance(value, str):
        raise invalid(f"Invalid value for due: {value!r} (expected an RFC 3339 timestamp)", "due")
    when = parse_rfc3339(value, "due").astimezone(UTC)
    return when.strftime("%Y-%m-%dT00:00:00.000Z")


def _timestamp(value: Any, name: str) -> datetime:
    if not isinstance(value, str):
        raise invalid(f"Invalid value for {name}: {value!r} (expected an RFC 3339 timestamp)", name)
    return ms(parse_rfc3339(value, name).astimezone(UTC))


def _text(body: dict[str, Any], name: str, max_len: int) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise invalid(f"Invalid value for {name}: expected a string", name)
    if len(value) > max_len:
        raise invalid(f"Invalid value for {name}: {len(value)} characters, the maximum is {max_len}.", name)
    return value


def validate_task_body(body: dict[str, Any]) -> None:
    """400 for any writable field with a bad value (checked before anything changes)."""
    _text(body, "title", TITLE_MAX)
    _text(body, "notes", NOTES_MAX)
    status = body.get("status")
    if status is not None and status not in STATUSES:
        raise invalid(f"Invalid value for status: {status!r} (expected 'needsAction' or 'completed')", "status")
    if body.get("due") is not None:
        parse_due(body["due"])
    if body.get("completed") is not None:
        _timestamp(body["completed"], "completed")
    deleted = body.get("deleted")
    if deleted is not None and not isinstance(deleted, bool):
        raise invalid(f"Invalid value for deleted: {deleted!r} (expected true or false)", "deleted")


def apply_task_body(
    state: EmulatorState, store: TasksStore, rec: TaskListRec, task: TaskRec, body: dict[str, Any], *, replace: bool
) -> None:
    """Apply writable fields (title, notes, status, due, completed, deleted) to ``task``.

    ``replace`` (insert/update) treats absent fields as cleared; otherwise (patch) only
    fields present change and an explicit ``null`` clears. Output-only fields (id, parent,
    position, hidden, links, updated, ...) are ignored like Google does."""
    validate_task_body(body)

    def given(name: str) -> bool:
        return replace or name in body

    if given("title"):
        task.title = _text(body, "title", TITLE_MAX) or ""
    if given("notes"):
        task.notes = _text(body, "notes", NOTES_MAX)
    if given("due"):
        task.due = parse_due(body["due"]) if body.get("due") is not None else None
    if given("status") or "completed" in body:
        status = body.get("status") or (task.status if not replace else "needsAction")
        explicit = _timestamp(body["completed"], "completed") if body.get("completed") is not None else None
        if status == "completed":
            # completed is stamped when the task becomes completed; a client value wins.
            task.completed = explicit or task.completed or ms(state.clock.now())
        else:
            task.completed = None
            if task.hidden:
                store.set_flags(rec, task, hidden=False)  # un-completing a cleared task shows it again
        task.status = status
    if "deleted" in body and body["deleted"] is not None and body["deleted"] != task.deleted:
        if not body["deleted"]:
            store.check_room(state, rec, visible=int(not task.hidden), total=1)
        store.set_flags(rec, task, deleted=bool(body["deleted"]))


def encode_token(mode: str, key: Any, number: int = 0) -> str:
    """A page token resuming after ``key`` (None: from the start); ``number`` counts the pages served."""
    raw = json.dumps({"m": mode, "k": list(key) if key else [], "n": number}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_token(token: str) -> tuple[str, tuple[Any, ...] | None, int]:
    """(mode, key or None for the start, page number) of a page token, or 400."""
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        mode, key, number = data["m"], tuple(data["k"]), int(data.get("n", 0))
        if mode not in ("p", "u", "l"):
            raise ValueError(mode)
    except (ValueError, KeyError, TypeError) as err:
        raise invalid(f"Invalid page token: {token!r:.60}", "pageToken") from err
    return mode, key or None, number


def int_param(raw: str | None, name: str, default: int, high: int) -> int:
    """An integer query parameter in 1..high (Google answers 400 beyond the maximum)."""
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError as err:
        raise invalid(f"Invalid value for {name}: {raw!r} (expected an integer)", name) from err
    if not 1 <= value <= high:
        raise invalid(f"Invalid value for {name}: {value} (must be between 1 and {high})", name)
    return value


def bool_param(raw: str | None, name: str, default: bool) -> bool:
    if raw is None:
        return default
    if raw.lower() not in ("true", "false"):
        raise invalid(f"Invalid value for {name}: {raw!r} (expected true or false)", name)
    return raw.lower() == "true"
