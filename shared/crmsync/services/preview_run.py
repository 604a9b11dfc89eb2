"""Preview a connection's sync (``python -m crmsync sync --dry-run``): every kind wired as a run wires
it, both sides listed in full and reconciled, nothing written to either side or to the store."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..model.kinds import Kind
from ..model.state import Connection
from ..ports import OpCounter
from .run_sync import RunDeps, enabled_kinds, preview_report


def preview_connection(
    conn: Connection, refresh_token: str, deps: RunDeps, kinds: Iterable[Kind] | None = None
) -> dict[str, dict[str, Any]]:
    """What a sync of ``conn`` would do now, per kind."""
    counter = OpCounter()
    credentials = deps.credentials(conn, refresh_token)
    links = deps.store.connection_store(conn.id)
    out: dict[str, dict[str, Any]] = {}
    for kind in kinds if kinds is not None else enabled_kinds(conn):
        out[kind.value] = preview_report(conn, kind, credentials, deps, links, counter)["preview"]
    return out
