""" "Use the other value" for a conflict the page lists: the value that lost (taken from the run log,
never from the request) is recorded in the kind's cursor and written to both sides by the next run
(requested at once), unless either side changed that field since."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from crmsync.model.kinds import Kind, Side
from crmsync.services.deps import Enqueues, StoreClock
from crmsync.services.errors import FieldProblem, InvalidInput, WrongState
from crmsync.services.health import HISTORY
from crmsync.services.run_log import latest_runs
from crmsync.services.run_words import N_
from crmsync.services.settings import connection_of
from crmsync.services.sync_now import request_sync
from crmsync.sync.approvals import UserChoices, ValueChoice, choices_of, keep_choices


def _latest_conflict(runs: list[dict[str, Any]], kind: Kind, crm_id: str, field: str) -> Mapping[str, Any] | None:
    for run in runs:  # newest first
        kinds = run.get("kinds") or {}
        report = kinds.get(kind.value) if isinstance(kinds, Mapping) else None
        for c in (report or {}).get("conflicts") or [] if isinstance(report, Mapping) else []:
            if isinstance(c, Mapping) and c.get("crm_id") == crm_id and c.get("field") == field:
                return c
    return None


def choose_other_value(app: Enqueues, crm_user_id: str, kind: Kind, crm_id: str, field: str) -> ValueChoice:
    """Record "use the other value" for the newest conflict on ``field`` of the CRM record ``crm_id``."""
    connection = connection_of(app, crm_user_id)
    conflict = _latest_conflict(latest_runs(app.store, connection, HISTORY), kind, crm_id, field)
    if conflict is None or not conflict.get("google_id") or conflict.get("winner") not in ("crm", "google"):
        raise InvalidInput([FieldProblem("field", "no such conflict in the recent runs of this kind")])
    if connection.lease is not None and connection.lease.expires_at > app.clock():
        raise WrongState(N_("A sync is running right now; try again in a minute."))
    winner = Side(str(conflict["winner"]))
    loser = winner.other
    choice = ValueChoice(
        crm_id=crm_id,
        google_id=str(conflict["google_id"]),
        field=field,
        source=loser,
        value=conflict.get(loser.value),
        replaces=conflict.get(winner.value),
        at=app.clock(),
        by=crm_user_id,
    )
    links = app.store.connection_store(connection.id)
    cursor = links.cursor(kind)
    choices: UserChoices = choices_of(cursor).with_value(choice)
    keep_choices(cursor, choices)
    links.save_cursor(cursor)
    request_sync(app, crm_user_id, purpose=f"choice-{kind.value}")
    return choice


def pending_values(app: StoreClock, connection_id: str, kind: Kind) -> list[ValueChoice]:
    """The values the user chose that the next run has not used yet."""
    return choices_of(app.store.connection_store(connection_id).cursor(kind)).values
