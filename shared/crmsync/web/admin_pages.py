"""The admin's HTML pages: sign in with the admin key, the connections with their health (filter by
state, page by page), and pause / resume / "Sync now" per connection through the admin API's services.

One template per section (``templates/admin/<section>.html``) under one layout with a nav (``NAV``):
a new section adds its template, its handler and a NAV entry."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlencode

from werkzeug.wrappers import Request, Response

from crmsync.bootstrap import App
from crmsync.model.ids import is_connection_id
from crmsync.model.kinds import Kind
from crmsync.security.sessions import Session, csrf_token
from crmsync.services import admin, admin_health
from crmsync.services.admin_health import FILTERS, ConnectionState
from crmsync.services.errors import FieldProblem, InvalidInput, ServiceError
from crmsync.services.run_words import N_
from crmsync.services.scopes import KIND_LABELS
from crmsync.web import admin_fields
from crmsync.web.admin_auth import (
    MAX_KEY_CHARS,
    AdminCsrfFailed,
    LoginThrottle,
    admin_session,
    check_login_token,
    client_of,
    end_admin_session,
    key_matches,
    login_token,
    require_admin_csrf,
    set_login_token,
    start_admin_session,
)
from crmsync.web.i18n import Locale, page_locale
from crmsync.web.responses import html, redirect

log = logging.getLogger(__name__)

PAGE_SIZE = 25
# The admin's sections: (id, path, label). The field-mapping section adds itself here.
NAV: list[tuple[str, str, str]] = [
    ("connections", "/admin", N_("Connections")),
    ("fields", "/admin/fields", N_("Field mapping")),
]
STATE_WORDS = {
    ConnectionState.IN_SYNC: N_("In sync"),
    ConnectionState.SYNCING: N_("Syncing"),
    ConnectionState.STOPPED: N_("Stopped"),
    ConnectionState.NEEDS_RECONNECT: N_("Needs reconnecting"),
    ConnectionState.PAUSED: N_("Paused"),
    ConnectionState.FAILING: N_("Records failing"),
    ConnectionState.DISCONNECTED: N_("Disconnected"),
}
NOTICES = {
    "signed-in": N_("You are signed in as administrator."),
    "paused": N_("The connection of %(who)s is paused. It does not sync until you resume it."),
    "resumed": N_("The connection of %(who)s is resumed; it syncs within a minute."),
    "sync": N_("A sync of %(who)s was requested; it starts within a minute."),
    "rerun": N_("A sync of %(who)s is running; another one follows right after it."),
    "queued": N_("A sync of %(who)s was already requested in the last few seconds."),
}
ACTIONS = {"admin_pause": "paused", "admin_resume": "resumed", "admin_sync": "sync"}


def _speech(request: Request) -> tuple[Locale, dict[str, Any]]:
    loc = page_locale(request, None, [])
    return loc, {"loc": loc, "_": loc.gettext, "ngettext": loc.ngettext, "lang": loc.language}


def _page(request: Request, template: str, section: str, status: int = 200, **values: Any) -> Response:
    loc, speech = _speech(request)
    values.setdefault("title", loc.gettext("Sync administration"))
    return html(f"admin/{template}", status_code=status, nav=NAV, section=section, **speech, **values)


def login_page(app: App, request: Request, *, error: str | None = None, status: int = 200) -> Response:
    """GET /admin/login: the admin key form (POST only: the key never travels in a URL), with its CSRF token."""
    token = login_token(app, request)
    resp = _page(request, "login.html", "login", status=status, error=error, login_csrf=token)
    set_login_token(app, resp, token)
    return resp


def login(app: App, request: Request, throttle: LoginThrottle) -> Response:
    """POST /admin/login: a right key starts an admin session; a wrong one is a 403, too many a 429."""
    check_login_token(app, request)  # before anything else: a forged sign-in is refused, not counted
    client = client_of(request)
    wait = throttle.retry_after(client)
    if wait is not None:
        loc, _speak = _speech(request)
        resp = login_page(app, request, error=loc.gettext(N_("Too many wrong keys. Wait a few minutes.")), status=429)
        resp.headers["Retry-After"] = str(wait)
        return resp
    key = request.form.get("key", "")
    if not key or len(key) > MAX_KEY_CHARS or not key_matches(app, key):
        throttle.failed(client)
        log.warning("admin sign-in refused: wrong key", extra={"client": client})
        loc, _speak = _speech(request)
        return login_page(app, request, error=loc.gettext(N_("That is not the admin key.")), status=403)
    throttle.succeeded(client)
    log.info("admin signed in", extra={"client": client})
    resp = redirect("/admin?notice=signed-in")
    start_admin_session(app, resp)
    return resp


def logout(app: App, request: Request) -> Response:
    """POST /admin/logout: end the admin session (CSRF checked when there is one)."""
    session = admin_session(app, request)
    if session is not None:
        require_admin_csrf(session, request.form.get("csrf"))
    resp = redirect("/admin/login")
    end_admin_session(app, resp)
    return resp


def _int(raw: str | None, default: int, most: int) -> int:
    if raw is None or raw == "":
        return default
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 4) or not 1 <= int(raw) <= most:
        raise InvalidInput([FieldProblem("limit", f"must be a whole number from 1 to {most}")])
    return int(raw)


def connections_page(app: App, request: Request, session: Session) -> Response:
    """GET /admin: the connections with their health, filtered by state and paged."""
    state_raw = request.args.get("state") or None
    cursor = request.args.get("cursor") or None
    try:
        state = admin_health.parse_state(state_raw)
        limit = _int(request.args.get("limit"), PAGE_SIZE, admin_health.MAX_LIMIT)
        if cursor is not None and len(cursor) > 1000:
            raise InvalidInput([FieldProblem("cursor", "not a cursor from a previous page")])
        page = admin_health.list_health(app, state, limit, cursor)
    except InvalidInput as err:
        loc, _speak = _speech(request)
        problems = "; ".join(f"{p.field}: {p.message}" for p in err.problems)
        return _message(request, 400, loc.gettext(N_("That filter is not valid")), problems)
    notice = request.args.get("notice")
    notice_text = None
    if notice in NOTICES:
        loc, _speak = _speech(request)
        notice_text = loc.gettext(NOTICES[notice]) % {"who": request.args.get("who", "")[:200]}
    more = None
    if page.next_cursor:
        more = "/admin?" + urlencode({k: v for k, v in (("state", state_raw), ("cursor", page.next_cursor)) if v})
    return _page(
        request,
        "connections.html",
        "connections",
        csrf=csrf_token(session),
        page=page,
        state=state,
        filters=FILTERS,
        state_words=STATE_WORDS,
        kinds=list(Kind),
        labels=KIND_LABELS,
        more=more,
        notice=notice if notice_text else None,
        notice_text=notice_text,
        back={"state": state_raw or "", "cursor": cursor or ""},
    )


def action(app: App, request: Request, session: Session, endpoint: str, connection_id: str) -> Response:
    """POST /admin/connections/<id>/pause|resume|sync from the page: the admin API's services, then back
    to the list the admin was on."""
    require_admin_csrf(session, request.form.get("csrf"))
    if not is_connection_id(connection_id):
        return _message(request, 404, N_("No such connection"), N_("There is no connection with that id."))
    try:
        if endpoint == "admin_pause":
            who = admin.pause(app, connection_id).crm_user_id
            notice = "paused"
        elif endpoint == "admin_resume":
            who = admin.resume(app, connection_id).crm_user_id
            notice = "resumed"
        else:
            result = admin.sync_now(app, connection_id)
            who = admin.get_connection(app, connection_id).crm_user_id
            notice = "rerun" if result.rerun_requested else ("sync" if result.enqueued else "queued")
    except ServiceError as err:
        return _message(request, err.status, err.title, err.message)
    log.info("admin %s", ACTIONS[endpoint], extra={"connection_id": connection_id})
    back = {k: request.form.get(k, "")[:1000] for k in ("state", "cursor")}
    query = {**{k: v for k, v in back.items() if v}, "notice": notice, "who": who}
    return redirect("/admin?" + urlencode(query))


def fields_page(app: App, request: Request, session: Session) -> Response:
    """GET/POST /admin/fields: the field-mapping section (web/admin_fields.py)."""
    return admin_fields.page(app, request, session, _page)


def _message(request: Request, status: int, title: str, message: str) -> Response:
    loc, _speak = _speech(request)
    return _page(request, "message.html", "connections", status=status, heading=loc.gettext(title), message=message)


def csrf_failed(request: Request, err: AdminCsrfFailed) -> Response:
    """403 for an admin form without its CSRF token."""
    return _message(request, 403, N_("Please reload the page"), str(err))
