"""The administrator's view of every connection's health: the same facts the user's settings page and
GET /status show (services/health.py), summed up per connection into one state an administrator can
filter by — in sync, stopped, needs reconnect, paused, failing — and read page by page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from crmsync.crm.capabilities import kinds_off
from crmsync.model.kinds import Kind
from crmsync.model.state import Connection, ConnectionStatus
from crmsync.services.admin_config import AdminConfig, load_admin_config
from crmsync.services.deps import StatusPorts
from crmsync.services.errors import FieldProblem, InvalidInput
from crmsync.services.health import KindHealth, State
from crmsync.services.status import status_of
from crmsync.store.contract import StoreError

MAX_LIMIT = 100  # connections on one page
SCAN_BUDGET = 200  # connections read for one filtered page at most; "more" goes on from there


class ConnectionState(StrEnum):
    """One connection's health in a word (the first that applies, in this order)."""

    DISCONNECTED = "disconnected"
    PAUSED = "paused"
    NEEDS_RECONNECT = "needs_reconnect"
    STOPPED = "stopped"
    FAILING = "failing"
    SYNCING = "syncing"
    IN_SYNC = "in_sync"


FILTERS = (
    ConnectionState.IN_SYNC,
    ConnectionState.STOPPED,
    ConnectionState.NEEDS_RECONNECT,
    ConnectionState.PAUSED,
    ConnectionState.FAILING,
)
_ORDER = list(ConnectionState)
_BUSY = (State.SYNCING, State.WAITING)


@dataclass(frozen=True)
class ConnectionHealth:
    """A connection with its kinds' health and the states it is in (stopped and failing can both hold)."""

    connection: Connection
    kinds: list[KindHealth]
    states: frozenset[ConnectionState]
    ok: bool

    @property
    def state(self) -> ConnectionState:
        """The state that matters most."""
        return min(self.states, key=_ORDER.index)

    @property
    def last_success_at(self) -> datetime | None:
        """The latest successful sync of any kind."""
        return max((h.last_success_at for h in self.kinds if h.last_success_at), default=None)

    @property
    def failing(self) -> int:
        return sum(len(h.failing) for h in self.kinds)

    @property
    def in_sync(self) -> int:
        return sum(h.in_sync or 0 for h in self.kinds)

    def as_json(self) -> dict[str, Any]:
        """The health part of an admin connection listing."""
        return {
            "state": self.state.value,
            "states": sorted(s.value for s in self.states),
            "ok": self.ok,
            "last_success_at": self.last_success_at.isoformat() if self.last_success_at else None,
            "kinds": {h.kind.value: h.as_json() for h in self.kinds},
        }


def states_of(connection: Connection, kinds: list[KindHealth]) -> frozenset[ConnectionState]:
    """Every state a connection is in, from its status and its kinds' health."""
    found: set[ConnectionState] = set()
    if connection.status is ConnectionStatus.DISCONNECTED:
        return frozenset({ConnectionState.DISCONNECTED})
    if connection.status is ConnectionStatus.PAUSED:
        found.add(ConnectionState.PAUSED)
    if connection.status is ConnectionStatus.NEEDS_REAUTH or any(h.state is State.NEEDS_RECONNECT for h in kinds):
        found.add(ConnectionState.NEEDS_RECONNECT)
    if any(h.state is State.STOPPED for h in kinds):
        found.add(ConnectionState.STOPPED)
    if any(h.failing for h in kinds):
        found.add(ConnectionState.FAILING)
    if any(h.state in _BUSY for h in kinds):
        found.add(ConnectionState.SYNCING)
    if not found:
        found.add(ConnectionState.IN_SYNC)  # every kind in sync, off, or switched off by the administrator
    return frozenset(found)


def connection_health(
    app: StatusPorts, connection: Connection, rules: AdminConfig, off: dict[Kind, str]
) -> ConnectionHealth:
    """One connection's health, from the same view the user's page shows."""
    view = status_of(app, connection, rules, off)
    return ConnectionHealth(connection, view.health, states_of(connection, view.health), view.ok)


@dataclass(frozen=True)
class HealthPage:
    """One page of the administrator's list."""

    items: list[ConnectionHealth]
    next_cursor: str | None
    scanned: int  # connections read to fill the page (a filter by health reads more than it shows)


def parse_state(raw: str | None) -> ConnectionState | None:
    """The filter named in a request, or InvalidInput listing the ones there are."""
    if not raw:
        return None
    try:
        state = ConnectionState(raw)
    except ValueError:
        state = None
    if state not in FILTERS:
        allowed = ", ".join(s.value for s in FILTERS)
        raise InvalidInput([FieldProblem("state", f"unknown state {raw[:40]!r}; use one of {allowed}")])
    return state


def list_health(app: StatusPorts, state: ConnectionState | None, limit: int, cursor: str | None) -> HealthPage:
    """Connections newest first with their health, only those in ``state`` if given. A page reads at
    most SCAN_BUDGET connections; when a rare state leaves it short, ``next_cursor`` goes on from
    where it stopped (the page says how many it looked at)."""
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput([FieldProblem("limit", f"must be from 1 to {MAX_LIMIT}, got {limit}")])
    rules, off = load_admin_config(app.store), kinds_off(app.crm)
    # Paused is a stored status: the store's index finds it without reading the others.
    status = ConnectionStatus.PAUSED if state is ConnectionState.PAUSED else None
    items: list[ConnectionHealth] = []
    scanned = 0
    while True:
        # Never read more than the page still needs: each connection read may be shown.
        want = limit - len(items) if state is not None and status is None else limit
        try:
            page = app.store.list_connections(status, min(want, SCAN_BUDGET - scanned), cursor)
        except StoreError as err:
            raise InvalidInput([FieldProblem("cursor", f"not a cursor from a previous page ({err})")]) from None
        scanned += len(page.items)
        for connection in page.items:
            health = connection_health(app, connection, rules, off)
            if state is None or state in health.states:
                items.append(health)
        cursor = page.next_cursor
        if cursor is None or len(items) >= limit or scanned >= SCAN_BUDGET:
            return HealthPage(items, cursor, scanned)
