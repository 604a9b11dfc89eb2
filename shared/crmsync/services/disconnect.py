"""Disconnect: revoke the grant at Google, destroy the token, stop syncing; synced records stay."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from crmsync.google.calendar_channels import CalendarChannels
from crmsync.google.client import Endpoint, build_service, user_credentials
from crmsync.model.state import Connection, ConnectionStatus
from crmsync.services.deps import DisconnectPorts
from crmsync.services.revoke import revoke_grant, sharing_the_account
from crmsync.services.settings import connection_of
from crmsync.services.watch_channels import stop_all
from crmsync.vault.port import TokenNotFound

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DisconnectResult:
    """Whether Google confirmed the revocation (False: the user should remove access in their Google account)."""

    revoked_at_google: bool
    links_deleted: int
    google_access_kept: bool = False  # not revoked: another CRM user still syncs with this Google account


def disconnect(app: DisconnectPorts, crm_user_id: str) -> DisconnectResult:
    """Revoke, delete the vault entry, mark disconnected, end the user's sessions, drop links and cursors
    (never synced records)."""
    connection = connection_of(app, crm_user_id)
    try:
        token: str | None = app.vault.get(connection.id)
    except TokenNotFound:
        token = None
    stop_channels(app, connection, token)  # while the token still works
    # At Google, revoking any token ends the app's access to the whole account, so a Google account another
    # CRM user still syncs with (the admin allows sharing) keeps its access; only our token is destroyed.
    shared = bool(sharing_the_account(app.store, connection.google_subject, but=connection.id))
    revoked = revoke_grant(app, token) if token and not shared else not shared
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
    log.info(
        "disconnected",
        extra={"connection_id": connection.id, "revoked": revoked, "shared": shared, "links_deleted": deleted},
    )
    return DisconnectResult(revoked_at_google=revoked, links_deleted=deleted, google_access_kept=shared)


def stop_channels(app: DisconnectPorts, connection: Connection, token: str | None) -> None:
    """Stop the connection's Calendar push channels at Google and forget them (never fails the disconnect:
    a channel that could not be stopped expires at Google, and the endpoint ignores channels it forgot)."""
    try:
        if not app.store.watch_channels(connection.id):
            return
        google = None
        if token:
            client, endpoint = app.config.oauth_client(), Endpoint(app.config.google_api_base)
            creds = user_credentials(
                refresh_token=token,
                client_id=client.client_id,
                client_secret=client.client_secret,
                scopes=connection.scopes,
                endpoint=endpoint,
            )
            google = CalendarChannels(build_service("calendar", creds, endpoint))
        stop_all(app.store, google, connection.id)
    except Exception:
        log.warning("could not stop the push channels on disconnect; they expire on their own", exc_info=True)
