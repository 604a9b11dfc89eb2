"""Who is calling: the browser session cookie, the CRM's server-to-server bearer, or the admin key.

Every request re-checks the admin's connect policy for the user and, for cookie sessions, the user's
session generation (raised by disconnect and logout), so no session outlives what it was issued for.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import timedelta

from werkzeug.wrappers import Request, Response

from crmsync.bootstrap import App
from crmsync.obs.logging import redact
from crmsync.security.sessions import Session, SessionStage, check_csrf, issue_session, read_session
from crmsync.services.access import allowed_user, session_generation
from crmsync.services.scopes import connection_id_for

# Production: "__Host-" (Secure, Path=/, no Domain: no subdomain can set or shadow it). Plain-http
# loopback (the local stack and tests) cannot carry a Secure cookie, so it keeps the bare name.
SESSION_COOKIE = "__Host-crmsync_session"
LOCAL_SESSION_COOKIE = "crmsync_session"
SESSION_TTL = timedelta(hours=8)  # a working day
CONNECT_SESSION_TTL = timedelta(minutes=30)  # from the connect link to Google's consent and back
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


def cookie_name(app: App) -> str:
    """The session cookie's name for this deployment."""
    return LOCAL_SESSION_COOKIE if app.config.is_local else SESSION_COOKIE


def _bearer(request: Request) -> str | None:
    header = request.headers.get("Authorization", "")
    if header[:7].lower() != "bearer ":
        return None
    return header[7:].strip()  # masked in logs by pattern ("Bearer ..."), never registered: the caller chose it


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))


def session_of(app: App, request: Request) -> Session | None:
    """The request's authentic, unexpired session cookie (any stage), if any; not yet checked against
    the user's session generation or the admin's policy (see ``caller``)."""
    session = read_session(request.cookies.get(cookie_name(app)), app.config.session_key, app.clock())
    if session is not None and session.stage is SessionStage.ADMIN:
        return None  # an admin session is never a user's, whatever cookie it is put in
    if session is not None and session.generation != session_generation(app, session.crm_user_id):
        return None  # ended by a disconnect or logout since it was issued
    return session


def caller(app: App, request: Request) -> Caller:
    """The CRM user behind the request (bearer + X-CRM-User, or a settings session cookie) whom the
    admin's policy still allows; else Unauthorized (or NotAllowed)."""
    token = _bearer(request)
    if token is not None:
        if not _same(token, app.config.crm_access().api_key):
            raise Unauthorized("the bearer token is not the CRM API key")
        user = (request.headers.get("X-CRM-User") or "").strip()
        if not user:
            raise Unauthorized("server-to-server calls must name the CRM user in the X-CRM-User header")
        allowed_user(app, user)
        return Caller(user, None)
    session = session_of(app, request)
    if session is None or session.stage is not SessionStage.SETTINGS:
        raise Unauthorized("sign in through the CRM (Connect Google or Google sync settings): no valid session")
    allowed_user(app, session.crm_user_id)
    return Caller(session.crm_user_id, session)


def require_csrf(who: Caller, token: str | None) -> None:
    """Cookie-authenticated writes must carry the session's CSRF token."""
    if who.session is not None and not check_csrf(who.session, token):
        raise CsrfFailed("the form has expired or did not come from this site; reload the page and try again")


def is_admin(app: App, request: Request) -> bool:
    """True if the request carries the admin API key as a bearer token (constant-time compare)."""
    token = _bearer(request)
    return token is not None and _same(token, app.config.admin_key())


def start_session(app: App, resp: Response, crm_user_id: str, stage: SessionStage = SessionStage.SETTINGS) -> Session:
    """Issue a session cookie for the user on ``resp`` (replacing any other) and return the session.
    Call it only after the admin's policy allowed the user."""
    ttl = SESSION_TTL if stage is SessionStage.SETTINGS else CONNECT_SESSION_TTL
    generation = session_generation(app, crm_user_id)
    value = issue_session(
        app.config.session_key,
        crm_user_id,
        connection_id_for(crm_user_id),
        ttl,
        app.clock(),
        stage=stage,
        generation=generation,
    )
    # Lax: the cookie must come back on Google's top-level redirect to /oauth/callback.
    set_session_cookie(app, resp, cookie_name(app), value, ttl, "Lax")
    session = read_session(value, app.config.session_key, app.clock())
    assert session is not None
    return session


def set_session_cookie(app: App, resp: Response, name: str, value: str, ttl: timedelta, samesite: str) -> None:
    """Put a session cookie we issued on ``resp``: HttpOnly, Path=/, Secure except on plain-http loopback."""
    redact.register(value)  # issued by us
    resp.set_cookie(
        name,
        value,
        max_age=int(ttl.total_seconds()),
        path="/",
        httponly=True,
        secure=not app.config.is_local,
        samesite=samesite,
    )


def end_session(app: App, resp: Response) -> None:
    """Remove the session cookie."""
    resp.delete_cookie(cookie_name(app), path="/", httponly=True, secure=not app.config.is_local, samesite="Lax")
