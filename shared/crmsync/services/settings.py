"""Read and change a connection's sync settings, within the admin's rules and the Google grant."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from pydantic import ValidationError

from crmsync.model.kinds import Kind
from crmsync.model.settings import SyncSettings
from crmsync.model.state import Connection, ConnectionStatus
from crmsync.services.admin_config import AdminConfig, load_admin_config, problems_of
from crmsync.services.deps import StoreClock
from crmsync.services.errors import FieldProblem, InvalidInput, NotAllowed, NotConnected, WrongState
from crmsync.services.polling import fastest_interval
from crmsync.services.run_words import N_
from crmsync.services.scopes import KIND_LABELS, connection_id_for, granted_kinds


def connection_of(app: StoreClock, crm_user_id: str) -> Connection:
    """The CRM user's connection (any status), or NotConnected."""
    connection = app.store.get_connection(connection_id_for(crm_user_id))
    if connection is None:
        raise NotConnected(N_("You have not connected a Google account yet. Use Connect Google in the CRM."))
    return connection


def rule_problems(new: SyncSettings, connection: Connection, rules: AdminConfig) -> list[FieldProblem]:
    """Where the settings break an admin rule or need a permission the user did not grant."""
    problems = []
    granted = granted_kinds(connection.scopes)
    allowed = ", ".join(d.value for d in rules.allowed_directions)
    for kind in Kind:
        ks, label = new.kind(kind), KIND_LABELS[kind]
        if not ks.enabled:
            continue
        if not rules.kinds.on(kind):
            problems.append(FieldProblem(f"{kind}.enabled", f"Your administrator has turned {label} sync off."))
        elif kind not in granted:
            problems.append(
                FieldProblem(
                    f"{kind}.enabled",
                    f"Google permission for {label} was not granted. Use Reconnect Google and allow it first.",
                )
            )
        if ks.direction not in rules.allowed_directions:
            problems.append(
                FieldProblem(f"{kind}.direction", f"Your administrator allows only these directions: {allowed}.")
            )
    return problems


def parse_settings(data: Any) -> SyncSettings:
    """Validate a settings document; InvalidInput names every bad field."""
    if not isinstance(data, dict):
        raise InvalidInput([FieldProblem("", "the body must be a JSON object of settings")])
    try:
        return SyncSettings.model_validate(data)
    except ValidationError as err:
        raise InvalidInput(problems_of(err)) from None


def editable(app: StoreClock, crm_user_id: str) -> tuple[Connection, AdminConfig]:
    """The user's connection and the admin rules, if the user may change its settings now;
    raises WrongState (disconnected) or NotAllowed (the administrator manages them)."""
    connection = connection_of(app, crm_user_id)
    if connection.status is ConnectionStatus.DISCONNECTED:
        raise WrongState(N_("This connection is disconnected. Connect Google again to change settings."))
    rules = load_admin_config(app.store)
    if not rules.users_may_edit:
        raise NotAllowed(N_("Your administrator manages the sync settings; they cannot be changed here."))
    return connection, rules


def update_settings(app: StoreClock, crm_user_id: str, data: Any) -> Connection:
    """Replace the connection's settings with ``data`` after validation and the admin rules."""
    connection, rules = editable(app, crm_user_id)
    new = parse_settings(data)
    problems = rule_problems(new, connection, rules)
    if problems:
        raise InvalidInput(problems)
    if new == connection.settings:
        return connection
    # A settings change brings a backed-off connection back to its fastest polling interval at once.
    fields: dict[str, Any] = {"settings": new, "quiet_runs": 0}
    soon = app.clock() + timedelta(minutes=fastest_interval(new.interval_minutes, rules.polling))
    if connection.next_sync_at is not None and connection.next_sync_at > soon:
        fields["next_sync_at"] = soon
    app.store.update_connection(connection.id, fields)
    return connection.model_copy(update=fields)
