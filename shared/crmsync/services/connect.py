"""Start connecting: verify the signed link, check the admin rules, and send the user to Google's consent."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from crmsync.crm.models import User
from crmsync.obs.logging import redact
from crmsync.security.links import ConnectClaims, verify_connect_token, verify_settings_token
from crmsync.services.access import allowed_user
from crmsync.services.admin_config import load_admin_config
from crmsync.services.deps import ConnectPorts
from crmsync.services.errors import NotAllowed
from crmsync.services.oauth_flow import make_flow
from crmsync.services.run_words import N_
from crmsync.services.scopes import scopes_for

STATE_TTL = timedelta(minutes=10)


class StoreNonces:
    """The store's single-use nonces as the NonceStore the link check needs."""

    def __init__(self, app: ConnectPorts) -> None:
        self._store = app.store

    def consume(self, nonce: str, expires_at: datetime) -> bool:
        """Record the nonce; True the first time."""
        return self._store.consume_nonce(hashlib.sha256(nonce.encode()).hexdigest(), expires_at)


@dataclass(frozen=True)
class ConnectStart:
    """Where to send the browser, and for whom."""

    authorization_url: str
    crm_user_id: str


def verify_link(app: ConnectPorts, token: str) -> ConnectClaims:
    """Verify a connect link (signature, purpose, lifetime, expiry, single use); raises a security LinkError."""
    return verify_connect_token(token, app.config.link_key(), app.clock(), StoreNonces(app))


def verify_settings_link(app: ConnectPorts, token: str) -> ConnectClaims:
    """Verify a settings link (signature, purpose, lifetime, expiry, single use); raises a security LinkError."""
    return verify_settings_token(token, app.config.link_key(), app.clock(), StoreNonces(app))


def session_binding(session_secret: str) -> str:
    """The value an OAuth state is bound to: a hash of the browser session's secret."""
    return hashlib.sha256(("crmsync-oauth-binding:" + session_secret).encode()).hexdigest()


def connecting_user(app: ConnectPorts, crm_user_id: str) -> User:
    """The CRM user a connect link names, if the admin's rules let them connect (NotAllowed otherwise)."""
    rules = load_admin_config(app.store)
    user = allowed_user(app, crm_user_id, rules)
    if not rules.enabled_kinds():
        raise NotAllowed(
            N_("Your CRM administrator has turned off every kind of sync, so there is nothing to connect.")
        )
    return user


def begin_authorization(app: ConnectPorts, crm_user_id: str, binding: str) -> ConnectStart:
    """Check the user may connect, store a single-use state with the PKCE verifier, return Google's URL
    (with ``login_hint`` set to the CRM user's e-mail, so Google offers the right account)."""
    user = connecting_user(app, crm_user_id)
    kinds = load_admin_config(app.store).enabled_kinds()
    state = secrets.token_urlsafe(32)
    verifier = secrets.token_urlsafe(64)
    redact.register(state)
    redact.register(verifier)
    flow = make_flow(app.config, scopes_for(kinds), state=state)
    flow.code_verifier = verifier  # PKCE: the challenge goes in the URL, the verifier stays in the store
    url, _ = flow.authorization_url(
        access_type="offline", prompt="consent", include_granted_scopes="true", login_hint=user.email
    )
    now = app.clock()
    record = {
        "crm_user_id": crm_user_id,
        "code_verifier": verifier,
        "binding": binding,
        "kinds": [k.value for k in kinds],
        "created_at": now,
    }
    app.store.put_oauth_state(state, record, now + STATE_TTL)
    return ConnectStart(authorization_url=str(url), crm_user_id=crm_user_id)
