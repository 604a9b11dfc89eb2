"""The user's answer to a safety stop — "Delete them" approves the deletions the stopped run listed,
"Keep them" restores those records on the side that lost them — recorded in the kind's cursor,
applied by the next run (requested at once) and recorded in its report."""

from __future__ import annotations

from typing import Any

from crmsync.model.kinds import Kind
from crmsync.services.deps import Enqueues, StoreClock
from crmsync.services.errors import WrongState
from crmsync.services.run_log import latest_runs
from crmsync.services.run_words import N_
from crmsync.services.settings import connection_of
from crmsync.services.sync_now import request_sync
from crmsync.sync.approvals import StopAnswer, StopChoice, choices_of, keep_choices, stop_choice


def _stopped_report(runs: list[dict[str, Any]], kind: Kind) -> dict[str, Any] | None:
    for run in runs:
        report = (run.get("kinds") or {}).get(kind.value) if isinstance(run.get("kinds"), dict) else None
        if isinstance(report, dict):
            return report if report.get("stopped") else None
    return None


def answer_stop(app: Enqueues, crm_user_id: str, kind: Kind, answer: StopAnswer) -> int:
    """Record the user's answer to the kind's latest (stopped) run; returns how many records it covers."""
    connection = connection_of(app, crm_user_id)
    report = _stopped_report(latest_runs(app.store, connection, 5), kind)
    records = (report or {}).get("would_delete") or []
    count = (report or {}).get("would_delete_count") or len(records)
    if report is None or not records:
        raise WrongState(N_("There is no stopped sync to answer: the latest run did not hold deletions back."))
    if connection.lease is not None and connection.lease.expires_at > app.clock():
        raise WrongState(N_("A sync is running right now; try again in a minute."))
    links = app.store.connection_store(connection.id)
    cursor = links.cursor(kind)
    choices = choices_of(cursor)
    choice = stop_choice(answer, records, int(count), app.clock(), crm_user_id)
    keep_choices(cursor, choices.model_copy(update={"stop": choice}))
    links.save_cursor(cursor)
    request_sync(app, crm_user_id, purpose=f"stop-{kind.value}")
    return len(records) if answer is StopAnswer.RESTORE else int(count)


def approve_deletes(app: Enqueues, crm_user_id: str, kind: Kind) -> int:
    """ "Delete them": approve the deletions the kind's latest (stopped) run held back; returns how many."""
    return answer_stop(app, crm_user_id, kind, StopAnswer.DELETE)


def restore_records(app: Enqueues, crm_user_id: str, kind: Kind) -> int:
    """ "Keep them": restore the records the kind's latest (stopped) run would have deleted; returns how many."""
    return answer_stop(app, crm_user_id, kind, StopAnswer.RESTORE)


def answered(app: StoreClock, connection_id: str, kind: Kind) -> StopChoice | None:
    """The user's answer to the stop that the next run has not applied yet."""
    return choices_of(app.store.connection_store(connection_id).cursor(kind)).stop


__all__ = ["StopAnswer", "answer_stop", "answered", "approve_deletes", "restore_records"]
