"""Revoke a Google grant (refresh or access token) at Google's revoke endpoint."""

from __future__ import annotations

import logging

import requests

from crmsync.model.state import Connection, ConnectionStatus
from crmsync.services.deps import RevokePorts
from crmsync.store.contract import StateStore

log = logging.getLogger(__name__)
TIMEOUT = (3.05, 10.0)


def revoke_grant(app: RevokePorts, token: str) -> bool:
    """POST the token to the revoke URI; True if Google revoked it or already considered it invalid."""
    try:
        resp = app.http.post(
            app.config.google_revoke_uri,
            data={"token": token},
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            timeout=TIMEOUT,
        )
    except requests.RequestException as err:
        log.warning("could not reach Google to revoke a grant: %s", type(err).__name__)
        return False
    if resp.status_code == 200:
        return True
    # 400 invalid_token: already revoked or expired, which is what we wanted.
    if resp.status_code == 400 and "invalid_token" in resp.text:
        return True
    log.warning("Google answered %s to a revoke request", resp.status_code)
    return False


def sharing_the_account(store: StateStore, subject: str, but: str | None = None) -> list[Connection]:
    """Live connections joined to the Google account ``subject`` other than ``but``: at Google a grant is
    per account and app, so revoking any token of the account would end their access too."""
    if not subject:
        return []
    return [
        c
        for c in store.find_connections_by_google_subject(subject)
        if c.id != but and c.status is not ConnectionStatus.DISCONNECTED
    ]
