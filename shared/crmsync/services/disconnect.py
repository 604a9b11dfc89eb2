"""Disconnect: revoke the grant at Google, destroy the token, stop syncing; synced records stay."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from crmsync.bootstrap import App
from crmsync.model.state import ConnectionStatus
from crmsync.services.revoke import revoke_grant
from crmsync.services.settings import connection_of
from crmsync.vault.port import TokenNotFound

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DisconnectResult:
    """Whether Google confirmed the revocation (False: the user should remove access in their Google account)."""

    revoked_at_google: bool
    links_deleted: int


def disconnect(app: App, crm_user_id: str) -> DisconnectResult:
    """Revoke, delete the vault entry, mark disconnected, end the user's sessions, drop links and cursors
    (never synced records)."""
    connection = connection_of(app, crm_user_id)
    try:
        token: str | None = app.vault.get(connection.id)
    except TokenNotFound:
        token = None
    revoked = revoke_grant(app, token) if token else True
    app.vault.delete(connection.id)
    app.store.update_connection(
        connection.id,
        {
            "status": ConnectionStatus.DISCONNECTED,
            "status_reason": "disconnected by the user",
            "next_sync_at": None,
            "session_generation": connection.session_generation + 1,  # every browser session of the user ends
        },
    )
    if connection.google_subject:
        app.store.release_google_account(connection.google_subject, connection.id)
    deleted = app.store.delete_connection_data(connection.id)
    log.info("disconnected", extra={"connection_id": connection.id, "revoked": revoked, "links_deleted": deleted})
    return DisconnectResult(revoked_at_google=revoked, links_deleted=deleted)
