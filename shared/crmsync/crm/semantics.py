"""Rules of the CRM Sync API that the reference CRM and the fake share: cursors, scope, visibility."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

SHARED_TAG = "shared"  # records with this tag are visible to every user
MAX_PAGE = 1000
MAX_BULK = 500


class CursorError(ValueError):
    """A cursor that this feed did not issue (wrong kind, filters or a mangled string)."""


class CursorExpired(CursorError):
    """A cursor this feed issued but can no longer serve: the client must read the feed from the start."""


def check_cursor_alive(after: int, head: int) -> None:
    """A cursor past the newest change (the CRM was restored from a backup, or its feed rebuilt)
    would silently skip the changes made since; CursorExpired tells the client to start over."""
    if after > head:
        raise CursorExpired(
            f"the cursor points past this CRM's newest change ({after} > {head}): the feed was restored or "
            "rebuilt; read it again from the start (omit the cursor) and reconcile"
        )


@dataclass(frozen=True)
class FeedFilter:
    """What a change feed is restricted to: owner, tag and the acting user's visibility."""

    owner_id: str | None = None
    tag: str | None = None
    user_id: str | None = None

    def fingerprint(self, kind: str) -> str:
        """A short hash binding a cursor to one kind and filter set."""
        raw = json.dumps([kind, self.owner_id, self.tag, self.user_id])
        return hashlib.sha256(raw.encode()).hexdigest()[:12]


def encode_cursor(kind: str, flt: FeedFilter, seq: int) -> str:
    """Opaque cursor: the commit sequence plus the feed it belongs to."""
    raw = json.dumps({"v": 1, "seq": seq, "f": flt.fingerprint(kind)}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(kind: str, flt: FeedFilter, cursor: str | None) -> int:
    """The sequence in ``cursor`` (0 for none); CursorError if it is not this feed's."""
    if not cursor:
        return 0
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        seq = data["seq"]
        ok = data.get("v") == 1 and isinstance(seq, int) and not isinstance(seq, bool) and 0 <= seq < 2**62
    except (ValueError, TypeError, KeyError, AttributeError):
        ok = False
    if not ok:
        raise CursorError(
            "the cursor is not one this CRM issued; pass next_cursor exactly as returned, or omit it to start over"
        )
    if data.get("f") != flt.fingerprint(kind):
        raise CursorError(
            "the cursor was issued for another kind or other filters (owner_id, tag, X-CRM-User); "
            "use the same ones, or omit the cursor to read the feed from the start"
        )
    return int(seq)


def scope_keys(kind: str, data: dict[str, Any]) -> set[str]:
    """Keys a feed filter or visibility rule can match on: owner, tags, attendee e-mails."""
    keys = {f"tag:{t}" for t in data.get("tags") or []}
    if data.get("owner_id"):
        keys.add(f"owner:{data['owner_id']}")
    if kind == "activities":
        for att in data.get("attendees") or []:
            if isinstance(att, dict) and isinstance(att.get("email"), str):
                keys.add(f"attendee:{att['email'].strip().lower()}")
        if isinstance(data.get("organizer_email"), str):
            keys.add(f"attendee:{data['organizer_email'].strip().lower()}")
    return keys


def visibility_keys(user_id: str, email: str) -> set[str]:
    """A non-admin user sees records they own, records tagged ``shared`` and activities they attend."""
    return {f"owner:{user_id}", f"tag:{SHARED_TAG}", f"attendee:{email.strip().lower()}"}


def required_key_sets(flt: FeedFilter, user_visibility: set[str] | None) -> list[set[str]]:
    """Each set must share a key with a record's scope keys for the record to be in scope."""
    sets = []
    if flt.owner_id is not None:
        sets.append({f"owner:{flt.owner_id}"})
    if flt.tag is not None:
        sets.append({f"tag:{flt.tag}"})
    if user_visibility is not None:
        sets.append(user_visibility)
    return sets


def in_scope(keys: Iterable[str], required: list[set[str]]) -> bool:
    """True when ``keys`` meet every required set."""
    have = set(keys)
    return all(have & need for need in required)


def now_rfc3339() -> str:
    """The current UTC time, RFC 3339 with microseconds."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def prepare_patch(kind: str, patch: Any) -> Any:
    """Reopening a task (status 'open') without naming completed_at clears it."""
    if kind == "tasks" and isinstance(patch, dict) and patch.get("status") == "open" and "completed_at" not in patch:
        return {**patch, "completed_at": None}
    return patch


def finalise(kind: str, data: dict[str, Any]) -> dict[str, Any]:
    """Server-side defaults after validation: a completed task without completed_at gets the current time."""
    if kind == "tasks" and data.get("status") == "completed" and not data.get("completed_at"):
        return {**data, "completed_at": now_rfc3339()}
    return data


def request_fingerprint(body: Any, user_id: str | None) -> str:
    """Hash of a create request, to tell an idempotent replay from a reused key."""
    raw = json.dumps([body, user_id], sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()
