"""Admin operations: read/replace the global rules, list connections, pause, resume and sync one now."""

from __future__ import annotations

from typing import Any

from crmsync.model.state import Connection, ConnectionStatus
from crmsync.services.admin_config import AdminConfig, load_admin_config, parse_admin_config
from crmsync.services.deps import Enqueues
from crmsync.services.errors import FieldProblem, InvalidInput, NotConnected, WrongState
from crmsync.services.sync_now import SyncRequest, request_sync
from crmsync.store.contract import Page, StoreError


def get_config(app: Enqueues) -> AdminConfig:
    """The current global rules."""
    return load_admin_config(app.store)


def put_config(app: Enqueues, data: Any) -> AdminConfig:
    """Validate and store new global rules (the whole document)."""
    config = parse_admin_config(data)
    app.store.put_global_config(config.model_dump(mode="json"))
    return config


def list_connections(app: Enqueues, status: str | None, limit: int, cursor: str | None) -> Page[Connection]:
    """A page of connections, newest first, optionally with one status."""
    problems = []
    parsed: ConnectionStatus | None = None
    if status:
        try:
            parsed = ConnectionStatus(status)
        except ValueError:
            allowed = ", ".join(s.value for s in ConnectionStatus)
            problems.append(FieldProblem("status", f"unknown status {status!r}; use one of {allowed}"))
    if not 1 <= limit <= 500:
        problems.append(FieldProblem("limit", f"must be from 1 to 500, got {limit}"))
    if problems:
        raise InvalidInput(problems)
    try:
        return app.store.list_connections(parsed, limit, cursor)
    except StoreError as err:
        raise InvalidInput([FieldProblem("cursor", f"not a cursor from a previous page ({err})")]) from None


def pause(app: Enqueues, connection_id: str) -> Connection:
    """Stop syncing one connection until it is resumed."""
    connection = get_connection(app, connection_id)
    if connection.status is ConnectionStatus.DISCONNECTED:
        raise WrongState("the connection is disconnected; the user must connect again")
    app.store.update_connection(connection.id, {"status": ConnectionStatus.PAUSED, "status_reason": "paused by admin"})
    return get_connection(app, connection_id)


def resume(app: Enqueues, connection_id: str) -> Connection:
    """Resume a paused connection; it syncs at the next tick."""
    connection = get_connection(app, connection_id)
    if connection.status is not ConnectionStatus.PAUSED:
        raise WrongState(f"only a paused connection can be resumed; this one is {connection.status.value}")
    fields: dict[str, Any] = {"status": ConnectionStatus.ACTIVE, "status_reason": None, "next_sync_at": app.clock()}
    app.store.update_connection(connection.id, fields)
    return get_connection(app, connection_id)


def sync_now(app: Enqueues, connection_id: str) -> SyncRequest:
    """ "Sync now" for one connection, as the user's own button does (same checks, same named task)."""
    return request_sync(app, get_connection(app, connection_id).crm_user_id)


def get_connection(app: Enqueues, connection_id: str) -> Connection:
    """One connection by id, or NotConnected (404)."""
    try:
        connection = app.store.get_connection(connection_id)
    except StoreError:
        connection = None
    if connection is None:
        raise NotConnected(f"no connection with id {connection_id!r}")
    return connection
