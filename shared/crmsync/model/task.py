"""The canonical task: the one shape both sides are compared in.

Compared fields: ``title`` (one line, whitespace collapsed), ``notes``
(multiline normalised), ``due_date`` (``YYYY-MM-DD`` or None: Google keeps the
date only, so a CRM due time is never compared; the CRM side keeps it),
``status`` (``needs_action`` | ``completed``) and ``completed`` (the completion
instant in UTC to the second, None unless completed). Google's ``hidden`` flag is
not a field: a hidden task is a completed one (cleared, or completed in Google's
own apps) and stays a normal record; only ``deleted`` deletes.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from . import normalise as n
from .ids import MAX_TASK_LISTS, TaskListId, Text1024
from .link import Canon

TASK_FIELDS = ("title", "notes", "due_date", "status", "completed")
NEEDS_ACTION = "needs_action"
COMPLETED = "completed"
STATUSES = (NEEDS_ACTION, COMPLETED)


class TaskTarget(StrEnum):
    """Where CRM tasks go in Google."""

    TASKS = "tasks"  # Google Tasks (implemented in crmsync.google.tasks)
    CALENDAR = "calendar"  # as Calendar events: a RecordSide of Kind.TASKS over Calendar (extension point)


class TaskOptions(BaseModel):
    """Task-specific options: the target and, for Google Tasks, which lists sync."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    target: TaskTarget = TaskTarget.TASKS
    # Task list ids synced into the CRM; the default list is always synced too.
    lists: tuple[TaskListId, ...] = Field(default=(), max_length=MAX_TASK_LISTS)
    # The list CRM tasks are created in; None: a list titled ``default_list_title``, created on demand.
    default_list: TaskListId | None = None
    default_list_title: Text1024 = Field(default="CRM", min_length=1)

    @field_validator("lists")
    @classmethod
    def _no_duplicates(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(dict.fromkeys(value))


def due_date_of(value: Any) -> str | None:
    """The calendar date of a due value: a date, or a date-time taken in its own offset."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    raw = str(value).strip()
    try:
        if len(raw) == 10:
            return date.fromisoformat(raw).isoformat()
        return datetime.fromisoformat(raw.replace("Z", "+00:00")).date().isoformat()
    except ValueError as err:
        raise n.InvalidValue("due_date", f"{raw!r} is neither a date YYYY-MM-DD nor an RFC 3339 date-time") from err


def instant(value: Any) -> str | None:
    """An RFC 3339 instant as UTC to the second (``2026-11-25T15:30:00Z``), so millisecond
    and microsecond precision never differ between the sides."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        when = value
    else:
        try:
            when = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
        except ValueError as err:
            raise n.InvalidValue("completed", f"{value!r} is not an RFC 3339 date-time") from err
    if when.tzinfo is None:
        raise n.InvalidValue("completed", f"{value!r} has no time zone offset")
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def status_of(value: Any) -> str:
    """``completed`` for the CRM's ``completed`` and Google's ``completed``; else ``needs_action``."""
    return COMPLETED if str(value or "").strip().lower() == COMPLETED else NEEDS_ACTION


def canonical_task(raw: Mapping[str, Any]) -> Canon:
    """Canonical form of a raw task dict (keys: title, notes, due, status, completed);
    raises ``normalise.InvalidValue`` for a task that cannot be synced (no title)."""
    title = n.text(raw.get("title"))
    if title is None:
        raise n.InvalidValue("title", "the task has no title; give it one so it can be synced")
    status = status_of(raw.get("status"))
    return {
        "title": title,
        "notes": n.multiline(raw.get("notes")),
        "due_date": due_date_of(raw.get("due")),
        "status": status,
        "completed": instant(raw.get("completed")) if status == COMPLETED else None,
    }


def match_keys(canon: Canon) -> tuple[list[str]]:
    """First-sync match key: case-folded title plus due date (the engine pairs only
    when a key is unique on both sides)."""
    title = str(canon.get("title") or "").casefold()
    return ([f"{title}|{canon.get('due_date') or ''}"],) if title else ([],)
