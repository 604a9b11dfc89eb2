"""The administrator's browser session: signed in with the admin key posted once in a form (never in a
URL), kept in its own cookie (``__Host-`` in production, SameSite=Strict, HttpOnly), with a CSRF token
on every form. The session is bound to the admin key: rotating the key ends every admin session.

Wrong keys are compared in constant time and slowed down: a client that sends too many wrong keys in a
window gets 429 with Retry-After (per instance; a key of 40+ random characters is the real defence)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections import deque
from datetime import timedelta

from werkzeug.wrappers import Request, Response

from crmsync.bootstrap import App
from crmsync.security.sessions import Session, SessionStage, check_csrf, issue_session, read_session
from crmsync.web.auth import set_session_cookie

ADMIN_COOKIE = "__Host-crmsync_admin"
LOCAL_ADMIN_COOKIE = "crmsync_admin"
LOGIN_COOKIE = "__Host-crmsync_admin_login"  # the sign-in form's CSRF token (double submit, SameSite=Strict)
LOCAL_LOGIN_COOKIE = "crmsync_admin_login"
LOGIN_FORM_TTL = timedelta(minutes=30)
ADMIN_SESSION_TTL = timedelta(hours=2)
MAX_KEY_CHARS = 512
FAILURES_ALLOWED = 5  # wrong keys per client per window
FAILURE_WINDOW_S = 300.0


class AdminCsrfFailed(Exception):
    """An admin form without this admin session's CSRF token."""


def admin_cookie_name(app: App) -> str:
    return LOCAL_ADMIN_COOKIE if app.config.is_local else ADMIN_COOKIE


def _subject(app: App) -> str:
    """Who an admin session belongs to: a fingerprint of the admin key (a new key ends old sessions)."""
    digest = hashlib.sha256(b"crmsync-admin-session\x00" + app.config.admin_key().encode("utf-8")).hexdigest()
    return "admin:" + digest[:24]


def key_matches(app: App, key: str) -> bool:
    """True if ``key`` is the admin key (constant-time)."""
    return hmac.compare_digest(key.encode("utf-8", "replace"), app.config.admin_key().encode("utf-8"))


def admin_session(app: App, request: Request) -> Session | None:
    """The request's admin session, if its cookie is authentic, unexpired and made with today's key."""
    session = read_session(request.cookies.get(admin_cookie_name(app)), app.config.session_key, app.clock())
    if session is None or session.stage is not SessionStage.ADMIN or session.crm_user_id != _subject(app):
        return None
    return session


def start_admin_session(app: App, resp: Response) -> None:
    """Set a fresh admin session cookie on ``resp``."""
    value = issue_session(
        app.config.session_key, _subject(app), None, ADMIN_SESSION_TTL, app.clock(), stage=SessionStage.ADMIN
    )
    # Strict: no cross-site request carries it (the admin pages link only to themselves).
    set_session_cookie(app, resp, admin_cookie_name(app), value, ADMIN_SESSION_TTL, "Strict")


def end_admin_session(app: App, resp: Response) -> None:
    resp.delete_cookie(
        admin_cookie_name(app), path="/", httponly=True, secure=not app.config.is_local, samesite="Strict"
    )


def login_token(app: App, request: Request) -> str:
    """The sign-in form's CSRF token: the one in this browser's login cookie, or a new one."""
    token = request.cookies.get(_login_cookie(app), "")
    return token if 20 <= len(token) <= 100 and token.isascii() else secrets.token_urlsafe(32)


def set_login_token(app: App, resp: Response, token: str) -> None:
    """Put the sign-in form's token in its cookie (HttpOnly, SameSite=Strict: no other site sends it)."""
    set_session_cookie(app, resp, _login_cookie(app), token, LOGIN_FORM_TTL, "Strict")


def _login_cookie(app: App) -> str:
    return LOCAL_LOGIN_COOKIE if app.config.is_local else LOGIN_COOKIE


def check_login_token(app: App, request: Request) -> None:
    """A sign-in must come from our own form in this browser (its cookie and its field agree)."""
    cookie, field = request.cookies.get(_login_cookie(app), ""), request.form.get("csrf", "")
    if not cookie or not hmac.compare_digest(cookie.encode("utf-8", "replace"), field.encode("utf-8", "replace")):
        raise AdminCsrfFailed("the sign-in form has expired or did not come from this site; reload it and try again")


def require_admin_csrf(session: Session, token: str | None) -> None:
    if not check_csrf(session, token):
        raise AdminCsrfFailed("the form has expired or did not come from this site; reload the page and try again")


def client_of(request: Request) -> str:
    """The client address: the last X-Forwarded-For hop (added by Google's front end, which a client
    cannot forge), else the socket's peer."""
    forwarded = [h.strip() for h in request.headers.get("X-Forwarded-For", "").split(",") if h.strip()]
    return forwarded[-1] if forwarded else (request.remote_addr or "?")


class LoginThrottle:
    """Wrong admin keys per client in a sliding window (this instance's memory)."""

    def __init__(self, allowed: int = FAILURES_ALLOWED, window_s: float = FAILURE_WINDOW_S) -> None:
        self.allowed, self.window_s = allowed, window_s
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, client: str, now: float) -> deque[float]:
        failures = self._failures.setdefault(client, deque())
        while failures and failures[0] <= now - self.window_s:
            failures.popleft()
        return failures

    def retry_after(self, client: str) -> int | None:
        """Seconds until the client may try again, or None if it may try now."""
        now = time.monotonic()
        with self._lock:
            failures = self._recent(client, now)
            if len(failures) < self.allowed:
                return None
            return max(1, int(failures[0] + self.window_s - now) + 1)

    def failed(self, client: str) -> None:
        now = time.monotonic()
        with self._lock:
            self._recent(client, now).append(now)
            if len(self._failures) > 10_000:  # bounded memory: forget the quietest clients
                for stale in [c for c, f in self._failures.items() if not f][:5_000]:
                    del self._failures[stale]

    def succeeded(self, client: str) -> None:
        with self._lock:
            self._failures.pop(client, None)
