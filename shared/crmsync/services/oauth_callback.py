"""Finish connecting: check the state, exchange the code, store the token, create or update the connection."""

from __future__ import annotations

import hmac
import logging
from dataclasses import dataclass
from typing import Any

import jwt
import requests

from crmsync.bootstrap import App
from crmsync.model.kinds import Kind
from crmsync.model.settings import SyncSettings
from crmsync.model.state import Connection, ConnectionStatus
from crmsync.obs.logging import redact
from crmsync.services.admin_config import load_admin_config, restrict_kinds
from crmsync.services.errors import ServiceError, Unavailable, WrongState
from crmsync.services.oauth_flow import make_flow
from crmsync.services.revoke import revoke_grant
from crmsync.services.scopes import connection_id_for, granted_kinds, normalise, scopes_for

log = logging.getLogger(__name__)


class AccessDenied(ServiceError):
    """The user pressed Deny on Google's consent page."""

    status = 400
    title = "Access declined"


class StateInvalid(ServiceError):
    """The state is unknown, expired, used, or belongs to another browser session."""

    status = 400
    title = "Sign-in expired"


class ExchangeFailed(ServiceError):
    """Google did not accept the authorization code, or the grant lacks what we need."""

    status = 400
    title = "Google sign-in failed"


class DifferentAccount(WrongState):
    """The CRM user is connected to another Google account; they must disconnect first."""

    title = "Already connected to another Google account"


@dataclass(frozen=True)
class CallbackResult:
    """The connection after a successful consent, and the kinds the user did not grant."""

    connection: Connection
    missing_kinds: list[Kind]
    created: bool


@dataclass(frozen=True)
class CallbackParams:
    """The query of /oauth/callback."""

    state: str | None
    code: str | None
    error: str | None


def take_state(app: App, state: str | None, binding: str | None) -> dict[str, Any]:
    """Consume the state record (single use) and check it belongs to this browser session."""
    if not state or len(state) > 200:
        raise StateInvalid("This sign-in has no valid state. Open Connect Google from the CRM again.")
    redact.register(state)
    record = app.store.take_oauth_state(state, app.clock())
    if record is None:
        raise StateInvalid("This sign-in has expired or was already used. Open Connect Google from the CRM again.")
    if not binding or not hmac.compare_digest(str(record.get("binding", "")), binding):
        raise StateInvalid(
            "This sign-in was started in another browser or session. Open Connect Google from the CRM again here."
        )
    return record


def complete_oauth(app: App, params: CallbackParams, binding: str | None) -> CallbackResult:
    """Handle Google's redirect: denial, state check, code exchange, token storage, connection upsert."""
    if params.code:
        redact.register(params.code)
    record = take_state(app, params.state, binding)
    crm_user_id = str(record["crm_user_id"])
    if params.error:
        if params.error == "access_denied":
            raise AccessDenied("You declined access, so nothing was connected.")
        raise ExchangeFailed(f"Google returned an error ({params.error[:60]}). Nothing was connected.")
    if not params.code:
        raise ExchangeFailed("Google sent no authorization code. Nothing was connected; try again.")
    token = _exchange(app, record, params.code)
    return _connect(app, crm_user_id, {Kind(k) for k in record["kinds"]}, token)


def _exchange(app: App, record: dict[str, Any], code: str) -> dict[str, Any]:
    from oauthlib.oauth2.rfc6749.errors import OAuth2Error

    kinds = [Kind(k) for k in record["kinds"]]
    flow = make_flow(app.config, scopes_for(kinds))
    flow.code_verifier = str(record["code_verifier"])
    try:
        flow.fetch_token(code=code)
    except OAuth2Error as err:
        raise ExchangeFailed(f"Google did not accept the sign-in ({err.error}). Nothing was connected.") from None
    except requests.RequestException as err:
        raise Unavailable("Google's sign-in service did not answer. Try again in a minute.") from err
    token: dict[str, Any] = dict(flow.oauth2session.token)
    for key in ("access_token", "refresh_token", "id_token"):
        redact.register(token.get(key))
    return token


def _identity(app: App, token: dict[str, Any]) -> tuple[str | None, str | None]:
    # The id_token came straight from Google's token endpoint over TLS, so OpenID Connect (3.1.3.7)
    # allows using its claims without checking the signature.
    if token.get("id_token"):
        claims = jwt.decode(token["id_token"], options={"verify_signature": False})
        if claims.get("sub") and claims.get("email"):
            return str(claims["sub"]), str(claims["email"]).lower()
    try:
        resp = app.http.get(
            app.config.userinfo_uri, headers={"Authorization": f"Bearer {token['access_token']}"}, timeout=10
        )
    except requests.RequestException as err:
        raise Unavailable("Google's user info service did not answer. Try again in a minute.") from err
    if resp.status_code != 200:
        return None, None
    info = resp.json()
    return info.get("sub"), (info.get("email") or "").lower() or None


def _connect(app: App, crm_user_id: str, requested: set[Kind], token: dict[str, Any]) -> CallbackResult:
    scopes = sorted(normalise(token.get("scope") or []))
    granted = granted_kinds(scopes)
    secret = token.get("refresh_token") or token.get("access_token") or ""
    subject, email = _identity(app, token)
    if not subject or not email:
        revoke_grant(app, secret)
        raise ExchangeFailed(
            "crmsync needs to know which Google account you used: allow 'See your primary Google Account "
            "email address' on Google's page. Nothing was connected."
        )
    if not granted:
        revoke_grant(app, secret)
        raise ExchangeFailed("You did not allow Contacts, Calendar or Tasks, so there is nothing to sync.")
    cid = connection_id_for(crm_user_id)
    existing = app.store.get_connection(cid)
    live = existing is not None and existing.status is not ConnectionStatus.DISCONNECTED
    if existing is not None and live and existing.google_subject != subject:
        revoke_grant(app, secret)
        raise DifferentAccount(
            f"Your CRM account syncs with {existing.google_email}, but you signed in as {email}. "
            f"To switch accounts, disconnect {existing.google_email} on the settings page first, then connect again."
        )
    refresh = token.get("refresh_token")
    if not refresh:
        raise ExchangeFailed(
            "Google did not issue offline access. Remove crmsync at https://myaccount.google.com/permissions "
            "and connect again."
        )
    app.vault.put(cid, str(refresh))
    rules = load_admin_config(app.store)
    allowed = {k for k in Kind if rules.kinds.on(k)} & granted
    settings = _settings(existing, rules.new_connection_settings(granted), granted, allowed)
    now = app.clock()
    connection = Connection(
        id=cid,
        crm_user_id=crm_user_id,
        google_subject=subject,
        google_email=email,
        scopes=scopes,
        status=ConnectionStatus.ACTIVE,
        status_reason=None,
        settings=settings,
        next_sync_at=now,
        created_at=existing.created_at if existing else now,
        lease=existing.lease if existing else None,
        last_run=existing.last_run if existing else None,
    )
    app.store.put_connection(connection)
    missing = sorted(requested - granted)
    log.info("connected", extra={"connection_id": cid, "granted_kinds": sorted(granted), "missing_kinds": missing})
    return CallbackResult(connection=connection, missing_kinds=[Kind(k) for k in missing], created=existing is None)


def _settings(existing: Connection | None, fresh: SyncSettings, granted: set[Kind], allowed: set[Kind]) -> SyncSettings:
    """Keep a returning user's settings; kinds granted now that were not before are turned on."""
    if existing is None:
        return fresh
    before = granted_kinds(existing.scopes)
    keep = {k for k in Kind if existing.settings.kind(k).enabled or k not in before}
    settings = restrict_kinds(existing.settings, keep & allowed)
    turn_on = {k.value: settings.kind(k).model_copy(update={"enabled": True}) for k in allowed - before}
    return settings.model_copy(update=turn_on)
