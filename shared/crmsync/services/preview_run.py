"""Preview a connection's sync (``python -m crmsync sync --dry-run``): every kind wired as a run wires
it, both sides listed in full and reconciled, nothing written to either side or to the store."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..model.kinds import Kind
from ..model.state import Connection
from ..ports import OpCounter
from ..sync.preview import preview_kind
from .run_sync import KIND_FACTORIES, RunDeps, enabled_kinds


def preview_connection(
    conn: Connection, refresh_token: str, deps: RunDeps, kinds: Iterable[Kind] | None = None
) -> dict[str, dict[str, Any]]:
    """What a sync of ``conn`` would do now, per kind."""
    counter = OpCounter()
    credentials = deps.credentials(conn, refresh_token)
    links = deps.store.connection_store(conn.id)
    out: dict[str, dict[str, Any]] = {}
    for kind in kinds if kinds is not None else enabled_kinds(conn):
        wiring = KIND_FACTORIES[kind](conn, credentials, deps, links.cursor(kind), counter)
        preview = preview_kind(kind, wiring.crm, wiring.google, links, conn.settings.kind(kind), wiring.match_keys)
        out[kind.value] = preview.as_dict()
    return out
