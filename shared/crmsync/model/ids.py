"""Formats of the ids that come from outside (task bodies, URLs, settings) and end up in
Firestore document ids, Secret Manager names or Google API paths.

Checked in the model and at every entry point, so a malformed id is a 4xx naming the field,
never a store error (Firestore refuses '/', '.', '..' and '__*__' as document ids) or a
request to Google with a path it did not expect.
"""

from __future__ import annotations

import re
from typing import Annotated, TypeGuard

from pydantic import AfterValidator, StringConstraints

# Connection ids: "c_" + 32 hex digits in production; tests and older data use other short
# URL-safe ids. The vault's secret names and Firestore document ids both accept this set.
_CONNECTION_ID = re.compile(r"[A-Za-z0-9_-]{1,200}")
# OAuth state and similar server-issued random tokens (secrets.token_urlsafe).
_URLSAFE_TOKEN = re.compile(r"[A-Za-z0-9_-]{16,200}")
# Google Calendar ids: "primary" or an address-like id (user@example.com,
# abc123@group.calendar.google.com, en.usa#holiday@group.v.calendar.google.com).
_CALENDAR_ID = re.compile(r"primary|[^\s/,@\\?%]{1,500}@[^\s/,@\\?%]{1,500}")
# Google Tasks list ids: opaque URL-safe strings (e.g. MDk2NjAyOTQ0NDUxMjYyNjc3MzE6MDow), or @default.
_TASK_LIST_ID = re.compile(r"@default|[A-Za-z0-9_=:.-]{1,200}")
# CRM user ids: opaque, printable, no path or control characters.
_CRM_USER_ID = re.compile(r"[^\s/\\?#%\x00-\x1f\x7f]{1,200}")

MAX_CALENDARS = 50
MAX_TASK_LISTS = 100


def _reserved(value: str) -> bool:
    return value in (".", "..") or (value.startswith("__") and value.endswith("__"))


def is_connection_id(value: object) -> TypeGuard[str]:
    """A connection id the store, the vault and the queue all accept."""
    return isinstance(value, str) and bool(_CONNECTION_ID.fullmatch(value)) and not _reserved(value)


def is_token(value: object) -> TypeGuard[str]:
    """A server-issued URL-safe random token (OAuth state)."""
    return isinstance(value, str) and bool(_URLSAFE_TOKEN.fullmatch(value)) and not _reserved(value)


def is_crm_user_id(value: object) -> TypeGuard[str]:
    """A CRM user id: 1-200 printable characters without '/', '\\', '?', '#', '%' or spaces."""
    return isinstance(value, str) and bool(_CRM_USER_ID.fullmatch(value)) and not _reserved(value)


def check_calendar_id(value: str) -> str:
    """The id stripped, or ValueError saying what a calendar id looks like."""
    value = value.strip()
    if not _CALENDAR_ID.fullmatch(value):
        raise ValueError(
            f"{value[:60]!r} is not a Google calendar id: use 'primary' or an id like abc123@group.calendar.google.com"
        )
    return value


def check_task_list_id(value: str) -> str:
    """The id stripped, or ValueError saying what a task list id looks like."""
    value = value.strip()
    if not value:
        raise ValueError("task list ids must not be empty; remove the blank entry")
    if not _TASK_LIST_ID.fullmatch(value) or _reserved(value):
        raise ValueError(
            f"{value[:60]!r} is not a Google task list id: up to 200 letters, digits and '_-=:.' (no spaces or '/')"
        )
    return value


def _crm_user_id(value: str) -> str:
    if not is_crm_user_id(value):
        raise ValueError(f"{value[:60]!r} is not a CRM user id (1-200 printable characters, no '/', '%' or spaces)")
    return value


CalendarId = Annotated[str, AfterValidator(check_calendar_id)]
TaskListId = Annotated[str, AfterValidator(check_task_list_id)]
CrmUserId = Annotated[str, AfterValidator(_crm_user_id)]


_ONE_LINE = r"^[^\x00-\x1f\x7f]*$"
# One-line texts without control characters, bounded.
Text200 = Annotated[str, StringConstraints(max_length=200, pattern=_ONE_LINE)]
Text1024 = Annotated[str, StringConstraints(max_length=1024, pattern=_ONE_LINE)]
