"""A record's name as a user recognises it (for lists on the settings page: never an id when a name exists)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .kinds import Kind

MAX_NAME = 120


def plain_name(*parts: object) -> str | None:
    """The non-empty parts joined by spaces and shortened like ``record_name``; None when all are empty
    (names of records whose values could not be read, from what the side holds)."""
    name = " ".join(" ".join(str(p) for p in parts if p).split())
    return (name[: MAX_NAME - 1] + "…" if len(name) > MAX_NAME else name) or None


def record_name(kind: Kind | str | None, canon: Mapping[str, Any] | None) -> str | None:
    """Contacts: the person's name, else the company, else the first e-mail; activities: the subject;
    tasks: the title. None when the record has none of these. ``kind`` None: told by the fields."""
    if not canon:
        return None
    if kind is None:
        kind = Kind.CONTACTS if "given" in canon else Kind.EVENTS if "subject" in canon else Kind.TASKS
    kind = Kind(kind)
    if kind is Kind.CONTACTS:
        parts = [canon.get(k) for k in ("prefix", "given", "middle", "family", "suffix")]
        name = " ".join(str(p) for p in parts if p)
        emails = canon.get("emails") or []
        first_email = emails[0].get("value") if emails and isinstance(emails[0], Mapping) else None
        name = name or str(canon.get("company") or "") or str(first_email or "")
    else:
        name = str(canon.get("subject" if kind is Kind.EVENTS else "title") or "")
    name = " ".join(name.split())
    return (name[: MAX_NAME - 1] + "…" if len(name) > MAX_NAME else name) or None
