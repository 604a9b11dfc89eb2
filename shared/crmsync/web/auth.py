"""Who is calling: the browser session cookie, the CRM's server-to-server bearer, or the admin key."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import timedelta

from werkzeug.wrappers import Request, Response

from crmsync.bootstrap import App
from crmsync.obs.logging import redact
from crmsync.security.sessions import Session, check_csrf, issue_session, read_session
from crmsync.services.scopes import connection_id_for

SESSION_COOKIE = "crmsync_session"
SESSION_TTL = timedelta(hours=8)
CSRF_FIELD = "csrf"
CSRF_HEADER = "X-CSRF-Token"


class Unauthorized(Exception):
    """No valid credentials: 401."""


class CsrfFailed(Exception):
    """A cookie-authenticated write without this session's CSRF token: 403."""


@dataclass(frozen=True)
class Caller:
    """A CRM user acting through a browser session or through the CRM server."""

    crm_user_id: str
    session: Session | None  # None for the CRM's bearer calls


def _bearer(request: Request) -> str | None:
    header = request.headers.get("Authorization", "")
    if header[:7].lower() != "bearer ":
        return None
    value = header[7:].strip()
    redact.register(value)
    return value


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))


def session_of(app: App, request: Request) -> Session | None:
    """The request's valid session, if any."""
    value = request.cookies.get(SESSION_COOKIE)
    if value:
        redact.register(value)
    return read_session(value, app.config.session_key, app.clock())


def caller(app: App, request: Request) -> Caller:
    """The CRM user behind the request (bearer + X-CRM-User, or the session cookie); else Unauthorized."""
    token = _bearer(request)
    if token is not None:
        if not _same(token, app.config.crm_api_key):
            raise Unauthorized("the bearer token is not the CRM API key")
        user = (request.headers.get("X-CRM-User") or "").strip()
        if not user:
            raise Unauthorized("server-to-server calls must name the CRM user in the X-CRM-User header")
        return Caller(user, None)
    session = session_of(app, request)
    if session is None:
        raise Unauthorized("sign in through Connect Google in the CRM (no valid session)")
    return Caller(session.crm_user_id, session)


def require_csrf(who: Caller, token: str | None) -> None:
    """Cookie-authenticated writes must carry the session's CSRF token."""
    if who.session is not None and not check_csrf(who.session, token):
        raise CsrfFailed("the form has expired or did not come from this site; reload the page and try again")


def is_admin(app: App, request: Request) -> bool:
    """True if the request carries the admin API key as a bearer token (constant-time compare)."""
    token = _bearer(request)
    return token is not None and _same(token, app.config.admin_api_key)


def start_session(app: App, resp: Response, crm_user_id: str) -> Session:
    """Issue a session cookie for the user on ``resp`` and return the session."""
    value = issue_session(app.config.session_key, crm_user_id, connection_id_for(crm_user_id), SESSION_TTL, app.clock())
    redact.register(value)
    resp.set_cookie(
        SESSION_COOKIE,
        value,
        max_age=int(SESSION_TTL.total_seconds()),
        path="/",
        httponly=True,
        secure=not app.config.is_local,
        samesite="Lax",  # Lax: the cookie must come back on Google's top-level redirect to /oauth/callback
    )
    session = read_session(value, app.config.session_key, app.clock())
    assert session is not None
    return session


def end_session(app: App, resp: Response) -> None:
    """Remove the session cookie."""
    resp.delete_cookie(SESSION_COOKIE, path="/", httponly=True, secure=not app.config.is_local, samesite="Lax")
