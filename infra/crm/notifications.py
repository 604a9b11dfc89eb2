"""The reference CRM's side of crmsync's notifications (docs/crm-sync-api.md "Notifications"):
``POST /notifications`` keeps one notification per id (a retry with the same Idempotency-Key is the
same notification: ``200`` and ``Idempotent-Replayed: true``), ``GET /notifications?user_id=`` lists a
user's newest first — what a CRM shows where its user works."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from crmsync.crm.notifications import Notification
from crmsync.crm.validation import FieldError

from . import problems as P
from .db import Database

MAX_LISTED = 100


def receive(db: Database, body: Any, key: str | None, user_id: str | None) -> tuple[int, dict[str, Any], bool]:
    """Store a notification once: (status, the stored notification, replayed)."""
    try:
        notification = Notification.model_validate(body)
    except ValidationError as err:
        errors = [FieldError("/" + "/".join(str(p) for p in e["loc"]), e["msg"]) for e in err.errors()]
        raise P.Problem(422, "validation", "the notification has invalid fields; see errors", errors=errors) from None
    if key != notification.id:
        raise P.bad_request("send the notification's id as its Idempotency-Key", "/Idempotency-Key")
    if user_id is not None and user_id != notification.user_id:
        raise P.bad_request("X-CRM-User and user_id name different users", "/user_id")
    stored = notification.model_dump(mode="json")
    now = datetime.now(UTC).isoformat()
    with db.write() as conn:
        row = conn.execute("SELECT body, received_at FROM notifications WHERE id = ?", (notification.id,)).fetchone()
        if row is not None:
            if _same(json.loads(row[0])) != _same(stored):
                raise P.Problem(
                    422,
                    "idempotency-key-reused",
                    f"notification {notification.id!r} was received with another body",
                )
            # A retry: the same notification, with a freshly minted settings link (kept: it is the newer one).
            conn.execute("UPDATE notifications SET body = ? WHERE id = ?", (json.dumps(stored), notification.id))
            return 200, {**stored, "received_at": row[1]}, True
        conn.execute(
            "INSERT INTO notifications VALUES (?, ?, ?, ?)",
            (notification.id, notification.user_id, json.dumps(stored), now),
        )
    return 201, {**stored, "received_at": now}, False


def _same(body: dict[str, Any]) -> dict[str, Any]:
    """What a retry must repeat: everything but the settings link, which is minted for each attempt."""
    return {k: v for k, v in body.items() if k not in ("settings_link", "settings_link_expires_at")}


def listing(db: Database, user_id: str | None) -> dict[str, Any]:
    """A user's notifications, newest first."""
    if not user_id:
        raise P.bad_request("give ?user_id= to list a user's notifications", "/user_id")
    with db.read() as conn:
        rows = conn.execute(
            "SELECT body, received_at FROM notifications WHERE user_id = ? ORDER BY received_at DESC, id LIMIT ?",
            (user_id, MAX_LISTED),
        ).fetchall()
    return {"items": [{**json.loads(body), "received_at": at} for body, at in rows]}
