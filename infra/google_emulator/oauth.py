"""OAuth 2.0 web-server flow: consent page, token, revoke, userinfo and OpenID discovery.

Clients: any ``client_id`` is accepted (and remembered with the first secret it
presents) unless ``state.extras["strict_clients"]`` is true; then only clients
registered through ``POST /__emulator/clients`` work. A registered client's
secret and redirect URIs are always enforced.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import re
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlencode, urlsplit, urlunsplit

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from cryptography.x509.oid import NameOID
from jinja2 import Environment, FileSystemLoader, select_autoescape
from jwt.algorithms import RSAAlgorithm

from .core import OAUTH, SCOPE_EMAIL, SCOPE_OPENID, SCOPE_PROFILE, AccessToken, Ctx, EmulatorState, route
from .server import Response

ISSUER = "https://accounts.google.com"
CODE_TTL = timedelta(minutes=10)
CONSENT_TTL = timedelta(hours=1)
_SHORT_SCOPES = {"email": SCOPE_EMAIL, "profile": SCOPE_PROFILE}
_AUTH = "https://www.googleapis.com/auth/"
# Google's consent-screen wording, so the page reads like the real one.
_SCOPE_TEXT = {
    _AUTH + "contacts": "See, edit, download, and permanently delete your contacts",
    _AUTH + "contacts.readonly": "See and download your contacts",
    _AUTH
    + "calendar": "See, edit, share, and permanently delete all the calendars you can access using Google Calendar",
    _AUTH + "calendar.events": "View and edit events on all your calendars",
    _AUTH + "calendar.readonly": "See and download any calendar you can access using your Google Calendar",
    _AUTH + "calendar.calendarlist.readonly": "See the list of Google calendars you're subscribed to",
    _AUTH + "tasks": "Create, edit, organize, and delete all your tasks",
    _AUTH + "tasks.readonly": "View your tasks",
    SCOPE_OPENID: "Associate you with your personal info on Google",
    SCOPE_EMAIL: "See your primary Google Account email address",
    SCOPE_PROFILE: "See your personal info, including any personal info you've made publicly available",
}
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PKCE_RE = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")
_TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).with_name("templates")), autoescape=select_autoescape(["html"])
)


@dataclass
class Client:
    client_id: str
    client_secret: str | None
    redirect_uris: list[str]
    registered: bool


@dataclass
class Code:
    client_id: str
    redirect_uri: str
    email: str
    scopes: frozenset[str]
    challenge: str | None
    challenge_method: str
    offline: bool
    force_refresh_token: bool
    nonce: str | None
    expires_at: datetime
    used: bool = False


@dataclass
class Grant:
    """One consent: its refresh token (offline only) and the access tokens issued under it."""

    email: str
    client_id: str
    scopes: frozenset[str]
    refresh_token: str | None
    nonce: str | None = None
    access_tokens: set[str] = field(default_factory=set)
    revoked: bool = False


@dataclass
class OAuthStore:
    clients: dict[str, Client] = field(default_factory=dict)
    pending: dict[str, tuple[datetime, dict[str, Any]]] = field(default_factory=dict)
    codes: dict[str, Code] = field(default_factory=dict)
    grants: list[Grant] = field(default_factory=list)
    by_refresh: dict[str, Grant] = field(default_factory=dict)
    by_access: dict[str, Grant] = field(default_factory=dict)


class OAuthError(Exception):
    """An OAuth protocol error answered as ``{"error", "error_description"}`` JSON."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(description)
        self.status, self.error, self.description = status, error, description

    def response(self) -> Response:
        body = {"error": self.error, "error_description": self.description}
        return Response.json(self.status, body, {"Cache-Control": "no-store"})


def oauth_store(state: EmulatorState) -> OAuthStore:
    """The OAuth store kept in ``state.extras`` (so ``reset()`` clears it)."""
    store: OAuthStore = state.extras.setdefault("oauth", OAuthStore())
    return store


def normalize_scopes(scopes: list[str] | str) -> list[str]:
    """Scopes as Google echoes them: short ``email``/``profile`` become URLs; order kept, duplicates dropped."""
    items = scopes.split() if isinstance(scopes, str) else scopes
    out: list[str] = []
    for item in items:
        full = _SHORT_SCOPES.get(item, item)
        if full not in out:
            out.append(full)
    return out


def register_client(
    state: EmulatorState, client_id: str, client_secret: str | None, redirect_uris: list[str]
) -> Client:
    """Register (or replace) an OAuth client."""
    client = Client(client_id, client_secret, list(redirect_uris), registered=True)
    oauth_store(state).clients[client_id] = client
    return client


def create_grant(
    state: EmulatorState,
    email: str,
    client_id: str,
    scopes: list[str],
    *,
    offline: bool = True,
    nonce: str | None = None,
) -> tuple[Grant, AccessToken]:
    """Record a consent and issue its first access token (and a refresh token when ``offline``)."""
    store = oauth_store(state)
    refresh = "1//0emu-" + secrets.token_urlsafe(32) if offline else None
    grant = Grant(email.strip().lower(), client_id, frozenset(normalize_scopes(scopes)), refresh, nonce)
    store.grants.append(grant)
    if refresh:
        store.by_refresh[refresh] = grant
    return grant, _issue_access(state, grant)


def _issue_access(state: EmulatorState, grant: Grant, scopes: frozenset[str] | None = None) -> AccessToken:
    tok = state.mint_access_token(grant.email, scopes or grant.scopes, grant.client_id)
    grant.access_tokens.add(tok.token)
    oauth_store(state).by_access[tok.token] = grant
    return tok


def _base_url(ctx: Ctx) -> str:
    host = ctx.headers.get("host")
    return f"http://{host}" if host else str(ctx.state.extras.get("base_url", ""))


def _html(status: int, template: str, **values: Any) -> Response:
    body = _TEMPLATES.get_template(template).render(**values).encode()
    return Response(status, body, {"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store"})


def _error_page(status: int, error: str, description: str) -> Response:
    return _html(status, "oauth_error.html", code=status, error=error, description=description)


def _redirect(uri: str, params: dict[str, str | None]) -> Response:
    parts = urlsplit(uri)
    extra = urlencode({k: v for k, v in params.items() if v is not None})
    query = f"{parts.query}&{extra}" if parts.query else extra
    return Response(302, b"", {"Location": urlunsplit(parts._replace(query=query)), "Cache-Control": "no-store"})


def _form(ctx: Ctx) -> dict[str, list[str]]:
    return parse_qs(ctx.body.decode("utf-8", "replace"), keep_blank_values=True)


def _client_for(state: EmulatorState, client_id: str) -> Client | None:
    store = oauth_store(state)
    client = store.clients.get(client_id)
    if client is None and not state.extras.get("strict_clients"):
        client = store.clients[client_id] = Client(client_id, None, [], registered=False)
    return client


@functools.cache
def _signing_key() -> tuple[rsa.RSAPrivateKey, str, str]:
    """The process's ID-token key, its key id and a self-signed PEM certificate for it."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    kid = hashlib.sha1(key.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)).hexdigest()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "accounts.google.com.emulator")])
    now = datetime.now(UTC)  # certificate validity is real time, not the emulator clock
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=3650))
        .sign(key, hashes.SHA256())
    )
    return key, kid, cert.public_bytes(Encoding.PEM).decode()


def sign_jwt(claims: dict[str, Any]) -> str:
    """Sign ``claims`` as an RS256 JWT with the emulator's key."""
    key, kid, _ = _signing_key()
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})


# --------------------------------------------------------------------------- authorization


def _validate_auth_request(ctx: Ctx) -> dict[str, Any] | Response:
    """The validated request as a dict, or the error page/redirect to answer."""
    p = {k: v[0] for k, v in ctx.query.items() if v}
    client_id, redirect_uri = p.get("client_id", ""), p.get("redirect_uri", "")
    if not client_id:
        return _error_page(400, "invalid_request", "Missing required parameter: client_id")
    client = _client_for(ctx.state, client_id)
    if client is None:
        return _error_page(
            401,
            "invalid_client",
            f"The OAuth client was not found: {client_id} (register it with POST /__emulator/clients).",
        )
    if not redirect_uri:
        return _error_page(400, "invalid_request", "Missing required parameter: redirect_uri")
    parts = urlsplit(redirect_uri)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.fragment:
        return _error_page(
            400,
            "invalid_request",
            f"Invalid parameter value for redirect_uri: {redirect_uri} (an absolute http(s) URL without a fragment is required)",
        )
    if client.registered and redirect_uri not in client.redirect_uris:
        return _error_page(
            400, "redirect_uri_mismatch", f"The redirect URI {redirect_uri} is not registered for client {client_id}."
        )

    def fail(error: str, description: str) -> Response:
        return _redirect(redirect_uri, {"error": error, "error_description": description, "state": p.get("state")})

    if p.get("response_type") != "code":
        return fail(
            "unsupported_response_type", f"Only response_type=code is supported, got {p.get('response_type')!r}"
        )
    scopes = normalize_scopes(p.get("scope", ""))
    if not scopes:
        return fail("invalid_request", "Missing required parameter: scope")
    bad = [s for s in scopes if s != SCOPE_OPENID and not s.startswith(_AUTH)]
    if bad:
        return fail("invalid_scope", f"Some requested scopes were invalid: {' '.join(bad)}")
    challenge, method = p.get("code_challenge"), p.get("code_challenge_method", "plain")
    if "code_challenge_method" in p and not challenge:
        return fail("invalid_request", "code_challenge_method was sent without code_challenge")
    if method not in ("S256", "plain"):
        return fail("invalid_request", f"Invalid code_challenge_method: {method} (use S256 or plain)")
    if challenge and not (_PKCE_RE.match(challenge) and (method == "plain" or len(challenge) == 43)):
        return fail(
            "invalid_request",
            "Invalid code_challenge: expected 43 base64url characters for S256, 43-128 unreserved characters for plain",
        )
    if p.get("access_type", "online") not in ("online", "offline"):
        return fail("invalid_request", f"Invalid access_type: {p['access_type']} (online or offline)")
    prompt = set(p.get("prompt", "").split())
    if prompt - {"none", "consent", "select_account"} or ("none" in prompt and len(prompt) > 1):
        return fail("invalid_request", f"Invalid prompt: {p.get('prompt')}")
    return {**p, "scopes": scopes, "challenge": challenge, "challenge_method": method, "prompt_set": sorted(prompt)}


def _issue_code(ctx: Ctx, req: dict[str, Any], email: str, granted: list[str]) -> Response:
    store, state = oauth_store(ctx.state), ctx.state
    email = email.strip().lower()
    if req.get("include_granted_scopes") == "true":
        for g in store.grants:
            if g.email == email and g.client_id == req["client_id"] and not g.revoked:
                granted += [s for s in g.scopes if s not in granted]
    code = "4/0Aemu" + secrets.token_urlsafe(32)
    store.codes[code] = Code(
        client_id=req["client_id"],
        redirect_uri=req["redirect_uri"],
        email=email,
        scopes=frozenset(granted),
        challenge=req["challenge"],
        challenge_method=req["challenge_method"],
        offline=req.get("access_type") == "offline",
        force_refresh_token="consent" in req["prompt_set"],
        nonce=req.get("nonce"),
        expires_at=state.clock.now() + CODE_TTL,
    )
    return _redirect(
        req["redirect_uri"],
        {"state": req.get("state"), "code": code, "scope": " ".join(granted), "authuser": "0", "prompt": "consent"},
    )


def _consent_page(
    ctx: Ctx,
    rid: str,
    req: dict[str, Any],
    *,
    status: int = 200,
    message: str = "",
    email: str = "",
    checked: set[str] | None = None,
) -> Response:
    scopes = [
        {"value": s, "label": f"{_SCOPE_TEXT.get(s, 'Use ' + s)} ({s})", "checked": checked is None or s in checked}
        for s in req["scopes"]
    ]
    return _html(
        status,
        "consent.html",
        client_id=req["client_id"],
        rid=rid,
        scopes=scopes,
        message=message,
        email=email or req.get("login_hint", ""),
        accounts=sorted(ctx.state.accounts),
        action=ctx.path,
    )


@route("GET", "/o/oauth2/auth", api=OAUTH, method_id="oauth.authorize")
@route("GET", "/o/oauth2/v2/auth", api=OAUTH, method_id="oauth.authorize")
def authorize(ctx: Ctx) -> Response:
    """The consent page (or an immediate redirect when auto-approve is on)."""
    req = _validate_auth_request(ctx)
    if isinstance(req, Response):
        return req
    extras = ctx.state.extras
    account = req.get("login_hint") or extras.get("default_account") or "user@example.com"
    if extras.get("auto_approve"):
        ctx.state.account(account)
        return _issue_code(ctx, req, account, list(req["scopes"]))
    if "none" in req["prompt_set"]:
        covered = any(
            g.email == account.lower()
            and g.client_id == req["client_id"]
            and not g.revoked
            and set(req["scopes"]) <= g.scopes
            for g in oauth_store(ctx.state).grants
        )
        if not covered:
            return _redirect(req["redirect_uri"], {"error": "consent_required", "state": req.get("state")})
        return _issue_code(ctx, req, account, list(req["scopes"]))
    rid = secrets.token_urlsafe(16)
    oauth_store(ctx.state).pending[rid] = (ctx.state.clock.now() + CONSENT_TTL, req)
    return _consent_page(ctx, rid, req)


@route("POST", "/o/oauth2/auth", api=OAUTH, method_id="oauth.consent")
@route("POST", "/o/oauth2/v2/auth", api=OAUTH, method_id="oauth.consent")
def consent(ctx: Ctx) -> Response:
    """The Allow/Deny form post of the consent page."""
    form = _form(ctx)
    rid = (form.get("rid") or [""])[0]
    store = oauth_store(ctx.state)
    pending = store.pending.get(rid)
    if pending is None or pending[0] <= ctx.state.clock.now():
        return _error_page(
            400,
            "invalid_request",
            "This sign-in request is unknown or has expired. Start the sign-in from the app again.",
        )
    req = pending[1]
    action = (form.get("action") or [""])[0]
    if action == "deny":
        del store.pending[rid]
        return _redirect(req["redirect_uri"], {"error": "access_denied", "state": req.get("state")})
    if action != "allow":
        return _consent_page(ctx, rid, req, status=400, message="Choose Allow or Deny.")
    email = (form.get("email") or [""])[0].strip()
    checked = set(form.get("scope", []))
    granted = [s for s in req["scopes"] if s in checked]
    if not _EMAIL_RE.match(email):
        return _consent_page(
            ctx, rid, req, status=400, message=f"Enter a valid email address (got {email!r}).", checked=checked
        )
    if not granted:
        return _consent_page(
            ctx,
            rid,
            req,
            status=400,
            message="Select at least one permission, or choose Deny.",
            email=email,
            checked=checked,
        )
    del store.pending[rid]
    name = (form.get("name") or [""])[0].strip()
    ctx.state.account(email, name=name or None)
    return _issue_code(ctx, req, email, granted)


# --------------------------------------------------------------------------- token endpoint


def _client_credentials(ctx: Ctx, form: dict[str, list[str]]) -> tuple[str, str | None]:
    auth = ctx.headers.get("authorization", "")
    if auth.lower().startswith("basic "):
        try:
            user, _, password = base64.b64decode(auth[6:].strip()).decode().partition(":")
        except ValueError as err:
            raise OAuthError(401, "invalid_client", "Malformed HTTP Basic client credentials.") from err
        return unquote(user), unquote(password)
    return (form.get("client_id") or [""])[0], next(iter(form.get("client_secret", [])), None)


def _authenticate_client(ctx: Ctx, form: dict[str, list[str]]) -> Client:
    client_id, secret = _client_credentials(ctx, form)
    if not client_id:
        raise OAuthError(
            400,
            "invalid_request",
            "Could not determine client ID from request (send HTTP Basic credentials or client_id).",
        )
    client = _client_for(ctx.state, client_id)
    if client is None:
        raise OAuthError(401, "invalid_client", f"The OAuth client was not found: {client_id}")
    if client.client_secret is None and not client.registered:
        client.client_secret = secret  # first use of an unregistered client pins its secret
    if client.client_secret is not None and secret != client.client_secret:
        raise OAuthError(401, "invalid_client", "Unauthorized: wrong or missing client_secret.")
    return client


def _token_response(ctx: Ctx, grant: Grant, tok: AccessToken, *, refresh: bool) -> Response:
    body: dict[str, Any] = {
        "access_token": tok.token,
        "expires_in": int((tok.expires_at - ctx.state.clock.now()).total_seconds()),
        "scope": " ".join(sorted(tok.scopes)),
        "token_type": "Bearer",
    }
    if refresh and grant.refresh_token:
        body["refresh_token"] = grant.refresh_token
    if SCOPE_OPENID in tok.scopes:
        body["id_token"] = id_token(ctx.state, grant, tok)
    return Response.json(200, body, {"Cache-Control": "no-store", "Pragma": "no-cache"})


def id_token(state: EmulatorState, grant: Grant, tok: AccessToken) -> str:
    """A signed RS256 OpenID Connect ID token for ``grant``."""
    account = state.account(grant.email)
    now = int(state.clock.now().timestamp())
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "azp": grant.client_id,
        "aud": grant.client_id,
        "sub": account.subject,
        "at_hash": base64.urlsafe_b64encode(hashlib.sha256(tok.token.encode()).digest()[:16]).rstrip(b"=").decode(),
        "iat": now,
        "exp": now + 3600,
    }
    if SCOPE_EMAIL in grant.scopes:
        claims.update(email=account.email, email_verified=True)
    if SCOPE_PROFILE in grant.scopes:
        claims["name"] = account.name
    if grant.nonce:
        claims["nonce"] = grant.nonce
    return sign_jwt(claims)


def _exchange_code(ctx: Ctx, form: dict[str, list[str]], client: Client) -> Response:
    store = oauth_store(ctx.state)
    value = (form.get("code") or [""])[0]
    if not value:
        raise OAuthError(400, "invalid_request", "Missing required parameter: code")
    code = store.codes.get(value)
    if code is None:
        raise OAuthError(400, "invalid_grant", "Malformed auth code.")
    if code.used:
        raise OAuthError(
            400,
            "invalid_grant",
            "The authorization code was already used. Codes are single-use: start the sign-in again.",
        )
    if code.expires_at <= ctx.state.clock.now():
        raise OAuthError(400, "invalid_grant", "The authorization code has expired (codes are valid for 10 minutes).")
    if code.client_id != client.client_id:
        raise OAuthError(400, "invalid_grant", "The authorization code was issued to another client.")
    if (form.get("redirect_uri") or [""])[0] != code.redirect_uri:
        raise OAuthError(
            400, "redirect_uri_mismatch", "redirect_uri must equal the one sent to the authorization endpoint."
        )
    if code.challenge:
        verifier = (form.get("code_verifier") or [""])[0]
        if not verifier:
            raise OAuthError(400, "invalid_grant", "Missing code verifier.")
        expected = verifier
        if code.challenge_method == "S256":
            expected = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        if not secrets.compare_digest(expected, code.challenge):
            raise OAuthError(400, "invalid_grant", "Invalid code verifier.")
    code.used = True
    has_refresh = any(
        g.refresh_token and not g.revoked and g.email == code.email and g.client_id == code.client_id
        for g in store.grants
    )
    offline = code.offline and (code.force_refresh_token or not has_refresh)
    grant, tok = create_grant(
        ctx.state, code.email, code.client_id, sorted(code.scopes), offline=offline, nonce=code.nonce
    )
    return _token_response(ctx, grant, tok, refresh=True)


def _refresh(ctx: Ctx, form: dict[str, list[str]], client: Client) -> Response:
    value = (form.get("refresh_token") or [""])[0]
    if not value:
        raise OAuthError(400, "invalid_request", "Missing required parameter: refresh_token")
    grant = oauth_store(ctx.state).by_refresh.get(value)
    if grant is None or grant.revoked:
        raise OAuthError(400, "invalid_grant", "Token has been expired or revoked.")
    if grant.client_id != client.client_id:
        raise OAuthError(401, "unauthorized_client", "The refresh token was issued to another OAuth client.")
    scopes = grant.scopes
    if form.get("scope"):
        asked = frozenset(normalize_scopes(form["scope"][0]))
        if not asked <= grant.scopes:
            raise OAuthError(400, "invalid_scope", f"Scopes not granted: {' '.join(sorted(asked - grant.scopes))}")
        scopes = asked
    return _token_response(ctx, grant, _issue_access(ctx.state, grant, scopes), refresh=False)


@route("POST", "/token", api=OAUTH, method_id="oauth.token")
@route("POST", "/o/oauth2/token", api=OAUTH, method_id="oauth.token")
def token(ctx: Ctx) -> Response:
    """Exchange an authorization code or a refresh token for an access token."""
    try:
        if not ctx.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            raise OAuthError(400, "invalid_request", "The token request must be application/x-www-form-urlencoded.")
        form = _form(ctx)
        grant_type = (form.get("grant_type") or [""])[0]
        if not grant_type:
            raise OAuthError(400, "invalid_request", "Missing required parameter: grant_type")
        if grant_type not in ("authorization_code", "refresh_token"):
            raise OAuthError(400, "unsupported_grant_type", f"Invalid grant_type: {grant_type}")
        client = _authenticate_client(ctx, form)
        return _exchange_code(ctx, form, client) if grant_type == "authorization_code" else _refresh(ctx, form, client)
    except OAuthError as err:
        return err.response()


@route("POST", "/revoke", api=OAUTH, method_id="oauth.revoke")
@route("GET", "/revoke", api=OAUTH, method_id="oauth.revoke")
@route("POST", "/o/oauth2/revoke", api=OAUTH, method_id="oauth.revoke")
def revoke(ctx: Ctx) -> Response:
    """Revoke a refresh or access token: the whole grant (refresh token and its access tokens) goes."""
    value = ctx.param("token") or (_form(ctx).get("token") or [""])[0]
    store, state = oauth_store(ctx.state), ctx.state
    grant = store.by_refresh.get(value) or store.by_access.get(value)
    if grant is not None and not grant.revoked:
        grant.revoked = True
        for t in grant.access_tokens:
            state.access_tokens.pop(t, None)
        return Response.json(200, {})
    if value and grant is None and state.access_tokens.pop(value, None) is not None:
        return Response.json(200, {})
    return OAuthError(400, "invalid_token", "Token expired or revoked").response()


# --------------------------------------------------------------------------- userinfo and discovery

_USERINFO_SCOPES = {SCOPE_OPENID, SCOPE_EMAIL, SCOPE_PROFILE}


@route("GET", "/oauth2/v2/userinfo", api=OAUTH, method_id="oauth2.userinfo.get", scopes=_USERINFO_SCOPES)
def userinfo_v2(ctx: Ctx) -> dict[str, Any]:
    """Google's userinfo (oauth2 v2 shape)."""
    acct, scopes = ctx.acct, ctx.token.scopes if ctx.token else frozenset()
    info: dict[str, Any] = {"id": acct.subject}
    if SCOPE_EMAIL in scopes:
        info.update(email=acct.email, verified_email=True)
    if SCOPE_PROFILE in scopes:
        info.update(name=acct.name, given_name=acct.name.split()[0] if acct.name else "")
    return info


@route("GET", "/v1/userinfo", api=OAUTH, method_id="openidconnect.userinfo", scopes=_USERINFO_SCOPES)
@route("GET", "/oauth2/v3/userinfo", api=OAUTH, method_id="openidconnect.userinfo", scopes=_USERINFO_SCOPES)
def userinfo_oidc(ctx: Ctx) -> dict[str, Any]:
    """OpenID Connect userinfo."""
    acct, scopes = ctx.acct, ctx.token.scopes if ctx.token else frozenset()
    info: dict[str, Any] = {"sub": acct.subject}
    if SCOPE_EMAIL in scopes:
        info.update(email=acct.email, email_verified=True)
    if SCOPE_PROFILE in scopes:
        info["name"] = acct.name
    return info


@route("GET", "/oauth2/v3/tokeninfo", api=OAUTH, method_id="oauth2.tokeninfo")
def tokeninfo(ctx: Ctx) -> Response:
    """Describe an access token (scopes, expiry, account)."""
    tok = ctx.state.access_tokens.get(ctx.param("access_token") or "")
    now = ctx.state.clock.now()
    if tok is None or tok.expires_at <= now:
        return OAuthError(400, "invalid_token", "Invalid Value").response()
    acct = ctx.state.account(tok.email)
    return Response.json(
        200,
        {
            "azp": tok.client_id,
            "aud": tok.client_id,
            "sub": acct.subject,
            "scope": " ".join(sorted(tok.scopes)),
            "exp": str(int(tok.expires_at.timestamp())),
            "expires_in": str(int((tok.expires_at - now).total_seconds())),
            "email": acct.email,
            "email_verified": "true",
        },
    )


@route("GET", "/.well-known/openid-configuration", api=OAUTH, method_id="oauth.discovery")
def openid_configuration(ctx: Ctx) -> dict[str, Any]:
    """OpenID Connect discovery document pointing at this emulator."""
    base = _base_url(ctx)
    return {
        "issuer": ISSUER,
        "authorization_endpoint": base + "/o/oauth2/v2/auth",
        "token_endpoint": base + "/token",
        "userinfo_endpoint": base + "/v1/userinfo",
        "revocation_endpoint": base + "/revoke",
        "jwks_uri": base + "/oauth2/v3/certs",
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "scopes_supported": ["openid", "email", "profile"],
        "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
        "claims_supported": [
            "aud",
            "email",
            "email_verified",
            "exp",
            "iat",
            "iss",
            "name",
            "sub",
            "nonce",
            "at_hash",
            "azp",
        ],
        "code_challenge_methods_supported": ["plain", "S256"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
    }


@route("GET", "/oauth2/v3/certs", api=OAUTH, method_id="oauth.certs")
def certs_jwk(ctx: Ctx) -> dict[str, Any]:
    """The ID-token signing keys as a JWK set."""
    key, kid, _ = _signing_key()
    jwk = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
    jwk.update(kid=kid, alg="RS256", use="sig")
    return {"keys": [jwk]}


@route("GET", "/oauth2/v1/certs", api=OAUTH, method_id="oauth.certs")
def certs_pem(ctx: Ctx) -> dict[str, Any]:
    """The ID-token signing keys as ``{kid: PEM certificate}`` (google-auth's default format)."""
    _, kid, pem = _signing_key()
    return {kid: pem}
