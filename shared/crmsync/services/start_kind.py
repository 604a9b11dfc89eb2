""" "Start syncing <kind>" after its preview (services/preview_gate.py): the user saw what the sync of
the kind's current scope would do; the next run (requested at once) syncs it."""

from __future__ import annotations

from crmsync.model.kinds import Kind
from crmsync.services.deps import Enqueues
from crmsync.services.errors import WrongState
from crmsync.services.preview_gate import scope_of
from crmsync.services.run_words import N_
from crmsync.services.settings import connection_of
from crmsync.services.sync_now import request_sync


def start_syncing(app: Enqueues, crm_user_id: str, kind: Kind) -> None:
    """ "Start syncing <kind>": the user saw the preview of its current scope; the next run (requested
    at once) syncs it."""
    connection = connection_of(app, crm_user_id)
    if not connection.settings.kind(kind).enabled:
        raise WrongState(N_("This kind is turned off; turn it on in the settings first."))
    links = app.store.connection_store(connection.id)
    cursor = links.cursor(kind)
    cursor.user_choices = cursor.user_choices.model_copy(update={"started": scope_of(connection, kind)})
    links.save_cursor(cursor)
    request_sync(app, crm_user_id, purpose=f"start-{kind.value}")
