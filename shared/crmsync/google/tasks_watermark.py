"""The Tasks "sync token": per-list ``updatedMin`` watermarks with an overlap window.

The Tasks API has no sync tokens. Each list remembers an ``updatedMin`` (the
listing's start by our clock minus an overlap that covers clock skew and writes
in flight) and which (task id, updated) pairs inside that window were already
processed, so the overlap never reports a change twice. ``generation`` grows
whenever the token changes; creation intents are tagged with it (see
``intents``). A quiet run issues the identical token, so the cursor is not rewritten.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

VERSION = 1


def seen_key(task_id: str, updated: str | None) -> str:
    """A short hash of one task version (id + updated)."""
    return hashlib.sha256(f"{task_id}|{updated or ''}".encode()).hexdigest()[:12]


def rfc3339(when: datetime) -> str:
    """UTC, milliseconds, ``Z`` (the form Google writes)."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


@dataclass(frozen=True)
class ListMark:
    """Where one task list's incremental listing stands."""

    updated_min: str
    seen: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Watermark:
    """The decoded token: a generation, the resolved default list and one mark per list."""

    generation: int = 0
    default_list: str | None = None
    lists: dict[str, ListMark] = field(default_factory=dict)

    def encode(self) -> str:
        """The token string (compact JSON, stable key order)."""
        data: dict[str, Any] = {
            "v": VERSION,
            "g": self.generation,
            "d": self.default_list,
            "l": {k: {"m": m.updated_min, "s": sorted(m.seen)} for k, m in sorted(self.lists.items())},
        }
        return json.dumps(data, separators=(",", ":"), sort_keys=True)


def decode(token: str | None) -> Watermark | None:
    """The watermark in ``token``; None for no token or one this code did not write
    (the caller then lists in full, which reconciles against the links)."""
    if not token:
        return None
    try:
        data = json.loads(token)
        if data.get("v") != VERSION:
            return None
        lists = {
            str(k): ListMark(str(v["m"]), frozenset(str(s) for s in v.get("s", [])))
            for k, v in dict(data.get("l") or {}).items()
        }
        for mark in lists.values():
            datetime.fromisoformat(mark.updated_min.replace("Z", "+00:00"))
        return Watermark(int(data.get("g", 0)), data.get("d"), lists)
    except (ValueError, TypeError, KeyError, AttributeError):
        return None
