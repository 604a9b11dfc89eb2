"""Preview before syncing (the administrator's rule ``preview_first_sync``): a kind's first sync, and
its first sync after a change of scope or target, waits for the user. Until they press "Start syncing",
each run previews the kind instead (both sides listed and reconciled as a run would, nothing written,
the same preview as ``sync --dry-run``) and records it in its report for the settings page."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from ..model.cursor import Cursor
from ..model.kinds import Kind
from ..model.state import Connection


def scope_of(conn: Connection, kind: Kind) -> str:
    """What the kind syncs and where (its filters, direction and target), as a short fingerprint."""
    settings = conn.settings
    ks = settings.kind(kind)
    scope: dict[str, Any] = {"direction": ks.direction.value, "crm_tag": ks.crm_tag, "google_group": ks.google_group}
    if kind is Kind.EVENTS:
        scope["events"] = settings.event_options.model_dump(mode="json", exclude={"send_updates", "private_activities"})
    if kind is Kind.TASKS:
        scope["tasks"] = settings.task_options.model_dump(mode="json")
    return hashlib.sha256(json.dumps(scope, sort_keys=True).encode()).hexdigest()[:16]


def awaiting_start(cursor: Cursor, conn: Connection, kind: Kind) -> bool:
    """Whether the kind waits for the user: never synced, or the scope they started has changed."""
    started = cursor.user_choices.started
    if started == scope_of(conn, kind):
        return False
    return started is not None or cursor.updated_at is None
