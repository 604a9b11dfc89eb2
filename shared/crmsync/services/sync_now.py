"""'Sync now': queue a run of the connection at once (or ask the running one to go again)."""

from __future__ import annotations

from dataclasses import dataclass

from crmsync.model.state import ConnectionStatus
from crmsync.services.admin_config import load_admin_config
from crmsync.services.deps import Enqueues
from crmsync.services.errors import WrongState
from crmsync.services.run_words import N_
from crmsync.services.settings import connection_of
from crmsync.services.sync_task import SyncTask

SLOT_SECONDS = 10  # a double click is one task; a later click (after an edit) syncs again


@dataclass(frozen=True)
class SyncRequest:
    """What "Sync now" did."""

    enqueued: bool
    rerun_requested: bool
    task_name: str


def request_sync(app: Enqueues, crm_user_id: str, *, purpose: str = "now") -> SyncRequest:
    """Queue a named task for this 10-second slot; if a run holds the lease, flag a rerun as well.

    ``purpose`` is part of the task's name: a double click is one task, but a different request in
    the same slot (e.g. "Start syncing" right after a finished "Sync now") is a run of its own."""
    connection = connection_of(app, crm_user_id)
    if connection.status is ConnectionStatus.NEEDS_REAUTH:
        raise WrongState(N_("Google no longer accepts this connection's access. Use Reconnect Google first."))
    if connection.status is ConnectionStatus.PAUSED:
        raise WrongState(N_("This connection is paused by your administrator."))
    if connection.status is ConnectionStatus.DISCONNECTED:
        raise WrongState(N_("This connection is disconnected. Connect Google again to sync."))
    if not load_admin_config(app.store).sync_enabled:
        raise WrongState(N_("Your administrator has paused all syncing. Try again later."))
    now = app.clock()
    rerun = connection.lease is not None and connection.lease.expires_at > now
    if rerun:
        app.store.request_rerun(connection.id)
    slot = int(now.timestamp()) // SLOT_SECONDS
    name = f"{connection.id}-{purpose}-{slot}"
    enqueued = app.queue.enqueue(connection.id, name=name, payload=SyncTask(connection.id, "sync_now", name).body())
    return SyncRequest(enqueued=enqueued, rerun_requested=rerun, task_name=name)
