"""The authorization endpoint: request checks, the Allow/Deny consent page and authorization codes."""

from __future__ import annotations

import re
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from jinja2 import Environment, FileSystemLoader, select_autoescape

from .core import OAUTH, SCOPE_EMAIL, SCOPE_OPENID, SCOPE_PROFILE, Ctx, route
from .oauth_state import Code, client_for, normalize_scopes, oauth_store, read_form
from .server import Response

CODE_TTL = timedelta(minutes=10)
CONSENT_TTL = timedelta(hours=1)
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


def _validate_auth_request(ctx: Ctx) -> dict[str, Any] | Response:
    """The validated request as a dict, or the error page/redirect to answer."""
    p = {k: v[0] for k, v in ctx.query.items() if v}
    client_id, redirect_uri = p.get("client_id", ""), p.get("redirect_uri", "")
    if not client_id:
        return _error_page(400, "invalid_request", "Missing required parameter: client_id")
    client = client_for(ctx.state, client_id)
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
    form = read_form(ctx)
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
