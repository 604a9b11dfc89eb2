"""The user's answer to a safety stop: "Delete them" approves the deletions the stopped run listed
(recorded in the kind's cursor, applied by the next run, which is requested at once)."""

from __future__ import annotations

from typing import Any

from crmsync.bootstrap import App
from crmsync.model.kinds import Kind
from crmsync.services.errors import WrongState
from crmsync.services.settings import connection_of
from crmsync.services.sync_now import request_sync
from crmsync.sync.approvals import DELETES_APPROVED, approval


def _stopped_report(runs: list[dict[str, Any]], kind: Kind) -> dict[str, Any] | None:
    for run in runs:
        report = (run.get("kinds") or {}).get(kind.value) if isinstance(run.get("kinds"), dict) else None
        if isinstance(report, dict):
            return report if report.get("stopped") else None
    return None


def approve_deletes(app: App, crm_user_id: str, kind: Kind) -> int:
    """Approve the deletions the kind's latest (stopped) run held back; returns how many."""
    connection = connection_of(app, crm_user_id)
    report = _stopped_report(app.store.recent_runs(connection.id, 5), kind)
    records = (report or {}).get("would_delete") or []
    count = (report or {}).get("would_delete_count") or len(records)
    if report is None or not records:
        raise WrongState("There is no stopped sync to answer: the latest run did not hold deletions back.")
    if connection.lease is not None and connection.lease.expires_at > app.clock():
        raise WrongState("A sync is running right now; try again in a minute.")
    links = app.store.connection_store(connection.id)
    cursor = links.cursor(kind)
    cursor.extra[DELETES_APPROVED] = approval(records, int(count), app.clock(), crm_user_id)
    links.save_cursor(cursor)
    request_sync(app, crm_user_id)
    return int(count)


def approved(app: App, connection_id: str, kind: Kind) -> bool:
    """Whether the user approved deletions the next run has not applied yet."""
    return DELETES_APPROVED in app.store.connection_store(connection_id).cursor(kind).extra
