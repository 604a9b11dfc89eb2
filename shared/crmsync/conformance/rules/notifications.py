"""Notifications crmsync sends a CRM that declares them (docs/crm-sync-api.md "Notifications")."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ..runner import Context, Skipped, rule


def _notification(ctx: Context, user: str) -> dict[str, Any]:
    return {
        "id": f"ntf-{ctx.tag}",
        "user_id": user,
        "reason": "records_failing",
        "kind": "tasks",
        "message": f"A test notification of the crmsync conformance kit (run {ctx.tag}); you can ignore it.",
        "settings_url": "https://crmsync.invalid/settings",
        "settings_link": None,
        "settings_link_expires_at": None,
        "created_at": datetime.now(UTC).isoformat(),
    }


@rule(
    "notifications.once",
    "POST /notifications takes a notification, takes its retry (same id) as the same one, refuses a bad one",
    "Notifications (crmsync tells the CRM a user is needed)",
)
def once(ctx: Context) -> None:
    caps = ctx.http("GET", "/capabilities")
    if caps.status != 200 or not isinstance(caps.reply, dict) or caps.reply.get("notifications") is not True:
        raise Skipped("the CRM does not declare notifications: true in GET /capabilities (optional)")
    if not ctx.user:
        raise Skipped("give --user <a CRM user id> to send a test notification to")
    body = _notification(ctx, ctx.user)
    headers = {"Idempotency-Key": body["id"]}
    first = ctx.http("POST", "/notifications", body=body, headers=headers, user=ctx.user)
    ctx.check(200 <= first.status < 300, f"a notification is taken with a 2xx, not {first.status}", first)
    again = ctx.http("POST", "/notifications", body=body, headers=headers, user=ctx.user)
    ctx.check(200 <= again.status < 300, f"its retry (same id and body) is taken with a 2xx, not {again.status}", again)
    bad = {**body, "id": f"ntf-{ctx.tag}-bad", "reason": "not-a-reason"}
    refused = ctx.http("POST", "/notifications", body=bad, headers={"Idempotency-Key": bad["id"]}, user=ctx.user)
    ctx.expect(refused, (400, 422), "a notification with an unknown reason")
