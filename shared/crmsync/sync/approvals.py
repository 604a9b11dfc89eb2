"""The user's answer to a mass-delete safety stop: "Delete them" approves exactly the deletions the
stopped run listed; the next run applies them if it would delete that same set (anything else stops
again), records that it did, and forgets the approval."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

DELETES_APPROVED = "deletes_approved"  # cursor.extra of the kind


def _keys(records: Sequence[dict[str, Any]]) -> list[str]:
    return sorted(f"{r.get('side')}:{r.get('crm_id')}:{r.get('google_id')}" for r in records)


def approval(records: Sequence[dict[str, Any]], count: int, at: datetime, by: str) -> dict[str, Any]:
    """What goes into the cursor when the user approves the listed deletions."""
    return {"count": count, "records": _keys(records), "at": at.isoformat(), "by": by}


def approves(stored: Any, count: int, records: Sequence[dict[str, Any]]) -> bool:
    """Whether a stored approval covers exactly these deletions."""
    return isinstance(stored, dict) and stored.get("count") == count and stored.get("records") == _keys(records)
