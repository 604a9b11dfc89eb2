"""Finish connecting: check the state, exchange the code, store the token, create or update the connection."""

from __future__ import annotations

import hmac
import logging
import re
from dataclasses import dataclass
from typing import Any

import jwt
import requests

from crmsync.crm.models import User
from crmsync.model.ids import is_token
from crmsync.model.kinds import Kind
from crmsync.model.settings import SyncSettings
from crmsync.model.state import Connection, ConnectionStatus
from crmsync.obs.logging import redact
from crmsync.services.access import allowed_user
from crmsync.services.admin_config import AdminConfig, EmailMatch, load_admin_config, restrict_kinds
from crmsync.services.deps import OAuthPorts
from crmsync.services.errors import NotAllowed, ServiceError, Unavailable, WrongState
from crmsync.services.oauth_flow import make_flow
from crmsync.services.revoke import revoke_grant, sharing_the_account
from crmsync.services.run_words import N_
from crmsync.services.scopes import connection_id_for, granted_kinds, normalise, scopes_for

log = logging.getLogger(__name__)


class AccessDenied(ServiceError):
    """The user pressed Deny on Google's consent page."""

    status = 400
    title = N_("Access declined")


class StateInvalid(ServiceError):
    """The state is unknown, expired, used, or belongs to another browser session."""

    status = 400
    title = N_("Sign-in expired")


class ExchangeFailed(ServiceError):
    """Google did not accept the authorization code, or the grant lacks what we need."""

    status = 400
    title = N_("Google sign-in failed")


class DifferentAccount(WrongState):
    """The CRM user is connected to another Google account; they must disconnect first."""

    title = N_("Already connected to another Google account")


class AccountMismatch(NotAllowed):
    """The Google account's verified e-mail does not match the CRM user's as the admin requires."""

    title = N_("This Google account does not belong to this CRM user")


class AccountTaken(NotAllowed):
    """The Google account is already joined to another CRM user, and the admin does not allow sharing."""

    title = N_("This Google account is already connected")


# What our own states look like (secrets.token_urlsafe(32)); anything else is refused before the store.
_STATE_RE = re.compile(r"^[A-Za-z0-9_-]{20,100}$")


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


def take_state(app: OAuthPorts, state: str | None, binding: str | None) -> dict[str, Any]:
    """Consume the state record (single use) if it belongs to this browser session. A state presented
    from another browser is refused and left in place, so the browser that started the sign-in can finish."""
    if not is_token(state) or not _STATE_RE.match(state):  # is_token: no Firestore-reserved '__*__' id
        raise StateInvalid(N_("This sign-in has no valid state. Open Connect Google from the CRM again."))

    def ours(record: dict[str, Any]) -> bool:
        return bool(binding) and hmac.compare_digest(str(record.get("binding", "")), str(binding))

    record = app.store.take_oauth_state(state, app.clock(), only_if=ours)
    if record is None:
        raise StateInvalid(N_("This sign-in has expired or was already used. Open Connect Google from the CRM again."))
    if not ours(record):
        raise StateInvalid(
            "This sign-in was started in another browser or session. Open Connect Google from the CRM again here."
        )
    redact.register(state)  # a state we issued and this browser presented: now worth masking wherever it appears
    return record


def complete_oauth(app: OAuthPorts, params: CallbackParams, binding: str | None) -> CallbackResult:
    """Handle Google's redirect: denial, state check, code exchange, token storage, connection upsert."""
    record = take_state(app, params.state, binding)
    crm_user_id = str(record["crm_user_id"])
    if params.error:
        if params.error == "access_denied":
            raise AccessDenied(N_("You declined access, so nothing was connected."))
        raise ExchangeFailed(f"Google returned an error ({params.error[:60]}). Nothing was connected.")
    if not params.code or len(params.code) > 2048:
        raise ExchangeFailed(N_("Google sent no usable authorization code. Nothing was connected; try again."))
    token = _exchange(app, record, params.code)
    return _connect(app, crm_user_id, {Kind(k) for k in record["kinds"]}, token)


def _exchange(app: OAuthPorts, record: dict[str, Any], code: str) -> dict[str, Any]:
    from oauthlib.oauth2.rfc6749.errors import OAuth2Error

    kinds = [Kind(k) for k in record["kinds"]]
    flow = make_flow(app.config, scopes_for(kinds))
    flow.code_verifier = str(record["code_verifier"])
    try:
        flow.fetch_token(code=code)
    except OAuth2Error as err:
        raise ExchangeFailed(f"Google did not accept the sign-in ({err.error}). Nothing was connected.") from None
    except requests.RequestException as err:
        raise Unavailable(N_("Google's sign-in service did not answer. Try again in a minute.")) from err
    redact.register(code)  # Google accepted it, so it is a real authorization code
    token: dict[str, Any] = dict(flow.oauth2session.token)
    for key in ("access_token", "refresh_token", "id_token"):
        redact.register(token.get(key))
    return token


def _identity(app: OAuthPorts, token: dict[str, Any]) -> tuple[str | None, str | None]:
    """The Google account's subject and *verified* e-mail (None for an e-mail Google has not verified)."""
    # The id_token came straight from Google's token endpoint over TLS, so OpenID Connect (3.1.3.7)
    # allows using its claims without checking the signature.
    if token.get("id_token"):
        try:
            claims = jwt.decode(token["id_token"], options={"verify_signature": False})
        except jwt.PyJWTError:
            claims = {}
        if claims.get("sub") and claims.get("email"):
            verified = claims.get("email_verified") in (True, "true")
            return str(claims["sub"]), str(claims["email"]).lower() if verified else None
    try:
        resp = app.http.get(
            app.config.userinfo_uri, headers={"Authorization": f"Bearer {token['access_token']}"}, timeout=10
        )
    except requests.RequestException as err:
        raise Unavailable(N_("Google's user info service did not answer. Try again in a minute.")) from err
    if resp.status_code != 200:
        return None, None
    try:
        info = resp.json()
    except ValueError:
        return None, None
    if not isinstance(info, dict):
        return None, None
    verified = info.get("email_verified") in (True, "true")
    email = str(info.get("email") or "").lower() if verified else ""
    return (str(info["sub"]) if info.get("sub") else None), email or None


def _connect(app: OAuthPorts, crm_user_id: str, requested: set[Kind], token: dict[str, Any]) -> CallbackResult:
    scopes = sorted(normalise(token.get("scope") or []))
    granted = granted_kinds(scopes)
    secret = token.get("refresh_token") or token.get("access_token") or ""
    subject, email = _identity(app, token)
    if not subject or not email:
        _refuse(app, secret, subject)
        raise ExchangeFailed(
            "crmsync needs the verified e-mail address of the Google account you used: allow 'See your primary "
            "Google Account email address' on Google's page (and verify the address with Google). "
            "Nothing was connected."
        )
    if not granted:
        _refuse(app, secret, subject)
        raise ExchangeFailed(N_("You did not allow Contacts, Calendar or Tasks, so there is nothing to sync."))
    rules = load_admin_config(app.store)
    try:
        user = allowed_user(app, crm_user_id, rules)  # the admin may have changed the rules meanwhile
    except ServiceError:
        _refuse(app, secret, subject)
        raise
    _check_account(app, rules, user, subject, email, secret)
    cid = connection_id_for(crm_user_id)
    existing = app.store.get_connection(cid)
    live = existing is not None and existing.status is not ConnectionStatus.DISCONNECTED
    if existing is not None and live and existing.google_subject != subject:
        _refuse(app, secret, subject)
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
    if not rules.share_google_accounts and not app.store.claim_google_account(subject, cid, app.clock()):
        raise AccountTaken(_taken(email))  # another first connect of this account won the race just now
    app.vault.put(cid, str(refresh))
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
        session_generation=existing.session_generation if existing else 0,
    )
    app.store.put_connection(connection)
    missing = sorted(requested - granted)
    log.info("connected", extra={"connection_id": cid, "granted_kinds": sorted(granted), "missing_kinds": missing})
    return CallbackResult(connection=connection, missing_kinds=[Kind(k) for k in missing], created=existing is None)


def _check_account(app: OAuthPorts, rules: AdminConfig, user: User, subject: str, email: str, secret: str) -> None:
    """Refuse (revoking the new grant, storing nothing) a Google account the admin's rules do not allow
    for this CRM user: an e-mail that does not match, or an account already joined to another user."""
    if not email_matches(rules.email_match, email, user.email):
        _refuse(app, secret, subject)
        required = {
            EmailMatch.EXACT: f"the same e-mail address ({user.email})",
            EmailMatch.DOMAIN: f"an address at {_domain(user.email)}",
            EmailMatch.ANY: "",
        }[rules.email_match]
        raise AccountMismatch(
            f"This link connects Google for {user.name} ({user.email}), but you signed in to Google as {email}. "
            f"Your administrator requires a Google account with {required}. Nothing was connected and "
            "crmsync's access to that Google account was removed. If this link was sent to you by someone "
            "else, do not use it: ask for Connect Google in your own CRM account."
        )
    if rules.share_google_accounts:
        return
    if sharing_the_account(app.store, subject, but=connection_id_for(user.id)):
        # No revoke here: at Google the grant is per account and app, so revoking would also end the
        # other user's working connection.
        raise AccountTaken(_taken(email))


def _taken(email: str) -> str:
    return (
        f"The Google account {email} is already connected to another CRM user. One Google account can "
        "sync with one CRM user only. Nothing was connected; sign in with another Google account, or "
        "disconnect it from the other CRM user first."
    )


def email_matches(mode: EmailMatch, google_email: str, crm_email: str) -> bool:
    """Whether the Google account's verified e-mail fits the CRM user's e-mail under the admin's rule."""
    if mode is EmailMatch.ANY:
        return True
    google_email, crm_email = google_email.strip().lower(), crm_email.strip().lower()
    if not google_email or not crm_email:
        return False
    if mode is EmailMatch.EXACT:
        return hmac.compare_digest(google_email.encode(), crm_email.encode())
    return _domain(google_email) == _domain(crm_email) != ""


def _domain(email: str) -> str:
    local, at, domain = email.strip().lower().rpartition("@")
    return domain if at and local and domain else ""


def _refuse(app: OAuthPorts, secret: str, subject: str | None) -> None:
    """Revoke a grant we will not use, unless the same Google account already syncs through another
    connection (revoking at Google ends every token of the account for this app)."""
    if not secret:
        return
    if subject and sharing_the_account(app.store, subject):
        return
    revoke_grant(app, secret)


def _settings(existing: Connection | None, fresh: SyncSettings, granted: set[Kind], allowed: set[Kind]) -> SyncSettings:
    """Keep a returning user's settings; kinds granted now that were not before are turned on."""
    if existing is None:
        return fresh
    before = granted_kinds(existing.scopes)
    keep = {k for k in Kind if existing.settings.kind(k).enabled or k not in before}
    settings = restrict_kinds(existing.settings, keep & allowed)
    turn_on = {k.value: settings.kind(k).model_copy(update={"enabled": True}) for k in allowed - before}
    return settings.model_copy(update=turn_on)
