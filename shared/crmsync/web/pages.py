"""HTML handlers: connect link, OAuth callback, the settings page and its form posts."""

from __future__ import annotations

import logging
from typing import Any

from werkzeug.wrappers import Request, Response

from crmsync.bootstrap import App
from crmsync.model.kinds import Kind
from crmsync.model.state import Connection, ConnectionStatus
from crmsync.obs.logging import redact
from crmsync.security.links import LinkError, LinkExpired, LinkReplayed
from crmsync.security.sessions import Session, csrf_token
from crmsync.services import connect, disconnect, oauth_callback, settings, status, sync_now
from crmsync.services.errors import InvalidInput, NotConnected, ServiceError
from crmsync.services.scopes import KIND_LABELS
from crmsync.web import forms, options_form
from crmsync.web.auth import Caller, require_csrf, start_session
from crmsync.web.responses import html, message_page, redirect

log = logging.getLogger(__name__)
NOTICES = {
    "saved": ("ok", "Your settings were saved."),
    "sync": ("ok", "A sync was requested; it starts within a minute."),
    "rerun": ("ok", "A sync is running; another one will follow right after it."),
    "queued": ("ok", "A sync was already requested in the last minute."),
    "connected": ("ok", "Google is connected. The first sync starts within a minute."),
    "disconnected": ("ok", "Disconnected. crmsync's access was revoked; records already synced stay where they are."),
    "disconnected-unrevoked": (
        "warn",
        "Disconnected and crmsync deleted its token, but Google could not be reached to revoke access. "
        "Remove crmsync at https://myaccount.google.com/permissions.",
    ),
}
_STATUS_TEXT = {
    ConnectionStatus.ACTIVE: "Active — syncing",
    ConnectionStatus.NEEDS_REAUTH: "Needs reconnecting",
    ConnectionStatus.PAUSED: "Paused",
    ConnectionStatus.DISCONNECTED: "Disconnected",
}
_LINK_TITLES = {LinkExpired: "This link has expired", LinkReplayed: "This link was already used"}
SELECTS = [
    ("direction", "Direction", forms.DIRECTIONS),
    ("conflict_policy", "When both sides changed the same field", forms.CONFLICTS),
    ("google.delete", "When a record is deleted in the CRM", forms.DELETES),
    ("crm.delete", "When a record is deleted in Google", forms.DELETES),
    ("delete_conflict", "When a record is deleted on one side and edited on the other", forms.DELETE_CONFLICTS),
]


def connect_page(app: App, request: Request) -> Response:
    """GET /connect?t=: verify the signed link, start a session, redirect to Google's consent page."""
    token = request.args.get("t", "")
    redact.register(token)
    try:
        claims = connect.verify_link(app, token)
    except LinkError as err:
        title = _LINK_TITLES.get(type(err), "This link is not valid")
        log.info("connect link refused: %s", type(err).__name__)
        return message_page(403, title, str(err), next_step="Open Connect Google in the CRM to get a new link.")
    resp = redirect("", status=302)
    session = start_session(app, resp, claims.crm_user_id)
    return _authorize(app, session, resp)


def reconnect(app: App, request: Request, who: Caller) -> Response:
    """POST /reconnect: a fresh consent flow for the signed-in user (Reconnect Google / Try again)."""
    require_csrf(who, request.form.get("csrf"))
    assert who.session is not None
    return _authorize(app, who.session, redirect("", status=303))


def _authorize(app: App, session: Session, resp: Response) -> Response:
    try:
        start = connect.begin_authorization(app, session.crm_user_id, connect.session_binding(session.csrf_secret))
    except ServiceError as err:
        page = message_page(err.status, err.title, err.message)
        for cookie in resp.headers.getlist("Set-Cookie"):
            page.headers.add("Set-Cookie", cookie)
        return page
    resp.headers["Location"] = start.authorization_url
    return resp


def callback(app: App, request: Request, session: Session | None) -> Response:
    """GET /oauth/callback: finish the consent and land on the settings page."""
    params = oauth_callback.CallbackParams(
        state=request.args.get("state"), code=request.args.get("code"), error=request.args.get("error")
    )
    binding = connect.session_binding(session.csrf_secret) if session else None
    try:
        result = oauth_callback.complete_oauth(app, params, binding)
    except oauth_callback.AccessDenied as err:
        return _retry_page(err, session, "Nothing changed. You can try again whenever you like.", "Try again")
    except oauth_callback.DifferentAccount as err:
        return message_page(err.status, err.title, err.message, settings_link=True)
    except oauth_callback.StateInvalid as err:
        return message_page(err.status, err.title, err.message)
    except ServiceError as err:
        return _retry_page(err, session, "", "Try again")
    missing = ",".join(k.value for k in result.missing_kinds)
    return redirect("/settings?notice=connected" + (f"&missing={missing}" if missing else ""), status=303)


def _retry_page(err: ServiceError, session: Session | None, next_step: str, retry: str) -> Response:
    csrf = csrf_token(session) if session else None
    return message_page(err.status, err.title, err.message, next_step=next_step, retry=retry, csrf=csrf)


def settings_page(
    app: App,
    who: Caller,
    *,
    notice: str | None = None,
    missing: str = "",
    form: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    """The settings page: connection, status, the settings form and the actions."""
    assert who.session is not None
    notices = []
    if notice in NOTICES:
        cls, text = NOTICES[notice]
        notices.append({"id": notice, "cls": cls, "text": text})
    missing_kinds = [Kind(m) for m in missing.split(",") if m in {k.value for k in Kind}]
    if missing_kinds:
        names = ", ".join(KIND_LABELS[k] for k in missing_kinds)
        notices.append(
            {"id": "partial", "cls": "warn", "text": f"You did not allow {names}, so {names} sync is turned off."}
        )
    values: dict[str, Any] = {
        "title": "Google sync settings",
        "csrf": csrf_token(who.session),
        "notices": notices,
        "labels": KIND_LABELS,
        "selects": SELECTS,
        "field_map": forms.FIELD_MAP,
        "options": options_form,
        "errors": errors or {},
        "connection": None,
    }
    try:
        view = status.get_status(app, who.crm_user_id)
    except NotConnected:
        return html("settings.html", status_code=status_code, **values)
    connection: Connection = view.connection
    values.update(
        connection=connection,
        status=view,
        status_text=_STATUS_TEXT[connection.status],
        form=form if form is not None else connection.settings.model_dump(mode="json"),
        missing_any=any(k.allowed and not k.granted for k in view.kinds),
    )
    return html("settings.html", status_code=status_code, **values)


def save_settings(app: App, request: Request, who: Caller) -> Response:
    """POST /settings (form): validate and store, or show the form again with messages next to the fields."""
    require_csrf(who, request.form.get("csrf"))
    current, _ = settings.editable(app, who.crm_user_id)  # 409 / 403 before any form check
    doc, problems = forms.check_form(request.form, current.settings)
    if not problems:
        try:
            settings.update_settings(app, who.crm_user_id, doc)
        except InvalidInput as err:
            problems = err.problems
    if problems:
        return settings_page(app, who, form=doc, errors=forms.field_errors(problems), status_code=422)
    return redirect("/settings?notice=saved")


def sync(app: App, request: Request, who: Caller) -> Response:
    """POST /sync (form)."""
    require_csrf(who, request.form.get("csrf"))
    result = sync_now.request_sync(app, who.crm_user_id)
    notice = "rerun" if result.rerun_requested else ("sync" if result.enqueued else "queued")
    return redirect(f"/settings?notice={notice}")


def disconnect_form(app: App, request: Request, who: Caller) -> Response:
    """POST /disconnect (form)."""
    require_csrf(who, request.form.get("csrf"))
    result = disconnect.disconnect(app, who.crm_user_id)
    return redirect("/settings?notice=" + ("disconnected" if result.revoked_at_google else "disconnected-unrevoked"))
