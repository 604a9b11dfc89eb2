"""The worker's part in keeping Calendar push honest: notice when push went silent, and stop the
channels of a connection whose events no longer sync (services/watch_channels.py does the work)."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from crmsync.google.calendar_channels import CalendarChannels
from crmsync.google.client import build_service
from crmsync.model.state import Connection
from crmsync.services.run_sync import RunDeps
from crmsync.services.watch_channels import note_poll, stop_all
from crmsync.store.contract import StateStore
from crmsync.vault.port import TokenVault

log = logging.getLogger(__name__)


def check_push_after_poll(store: StateStore, conn: Connection, reason: str, record: dict[str, Any]) -> list[str]:
    """After a run: flag channels that stayed silent while the run found Google changes (``note_poll``);
    ``conn`` is the connection as read before the run (its ``last_run`` is the previous run's)."""
    previous = (conn.last_run or {}).get("finished_at")
    return note_poll(store, conn.id, reason, record, previous if isinstance(previous, datetime) else None)


def stop_stray_channels(conn: Connection, store: StateStore, vault: TokenVault, run: RunDeps) -> None:
    """Stop the push channels of a connection whose events no longer sync (a notification still came)."""
    if not store.watch_channels(conn.id):
        return
    try:
        service = build_service("calendar", run.credentials(conn, vault.get(conn.id)), run.google.endpoint)
        stop_all(store, CalendarChannels(service), conn.id)
    except Exception:  # without Google they expire on their own; forgotten, their messages are refused
        log.warning("could not stop the push channels of a connection without events", exc_info=True)
        stop_all(store, None, conn.id)
