"""HTML handlers: connect link, OAuth callback, the settings page and its form posts (a user's answers: web/answers.py)."""

from __future__ import annotations

import logging
from typing import Any
from zoneinfo import available_timezones

from werkzeug.wrappers import Request, Response

from crmsync.bootstrap import App
from crmsync.model.state import Connection, ConnectionStatus
from crmsync.security.links import LinkError, LinkExpired, LinkReplayed
from crmsync.security.sessions import Session, SessionStage, check_csrf, csrf_token
from crmsync.services import (
    access,
    connect,
    disconnect,
    oauth_callback,
    settings,
    status,
    sync_now,
)
from crmsync.services.admin_config import EmailMatch, load_admin_config
from crmsync.services.errors import InvalidInput, NotConnected, ServiceError
from crmsync.services.health import history
from crmsync.services.run_words import N_
from crmsync.services.scopes import KIND_LABELS, connection_id_for
from crmsync.web import forms, options_form
from crmsync.web.auth import Caller, CsrfFailed, end_session, require_csrf, session_of, start_session
from crmsync.web.custom_map import custom_rows
from crmsync.web.i18n import Locale, calendar_zone, page_locale, translate
from crmsync.web.responses import html, message_page, redirect, render

log = logging.getLogger(__name__)


CONNECTED_PREVIEW = N_(
    "Google is connected. Within a minute this page shows what the first sync would do; nothing is written "
    "until you start it."
)
NOTICES = {
    "saved": ("ok", N_("Your settings were saved.")),
    "sync": ("ok", N_("A sync was requested; it starts within a minute.")),
    "rerun": ("ok", N_("A sync is running; another one will follow right after it.")),
    "queued": ("ok", N_("A sync was already requested in the last minute.")),
    "approved": ("ok", N_("Approved. The next sync, starting within a minute, deletes those records.")),
    "chosen": (
        "ok",
        N_("Your choice was saved. The next sync, starting within a minute, writes that value on both sides."),
    ),
    "started": ("ok", N_("Started. The first sync begins within a minute.")),
    "restoring": (
        "ok",
        N_("Kept. The next sync, starting within a minute, restores those records from the other side."),
    ),
    "connected": ("ok", N_("Google is connected. The first sync starts within a minute.")),
    "disconnected": (
        "ok",
        N_("Disconnected. crmsync's access was revoked; records already synced stay where they are."),
    ),
    "disconnected-shared": (
        "ok",
        N_(
            "Disconnected. crmsync deleted its token for you; Google access stays because another CRM user "
            "syncs with the same Google account. Records already synced stay where they are."
        ),
    ),
    "disconnected-unrevoked": (
        "warn",
        "Disconnected and crmsync deleted its token, but Google could not be reached to revoke access. "
        "Remove crmsync at https://myaccount.google.com/permissions.",
    ),
}
_STATUS_TEXT = {
    ConnectionStatus.ACTIVE: N_("Connected"),
    ConnectionStatus.NEEDS_REAUTH: N_("Needs reconnecting"),
    ConnectionStatus.PAUSED: N_("Paused"),
    ConnectionStatus.DISCONNECTED: N_("Disconnected"),
}
_LINK_TITLES = {LinkExpired: N_("This link has expired"), LinkReplayed: N_("This link was already used")}
_LINK_WORDS = {  # what the user reads (the technical reason goes to the log)
    LinkExpired: N_("The link has expired."),
    LinkReplayed: N_("The link was already used: each link works once."),
}
_NEW_LINK = {
    "Connect Google": N_("Open Connect Google in the CRM to get a new link."),
    "Google sync settings": N_("Open Google sync settings in the CRM to get a new link."),
}
SELECTS = [
    ("direction", N_("Direction"), forms.DIRECTIONS),
    ("conflict_policy", N_("When both sides changed the same field"), forms.CONFLICTS),
    ("google.delete", N_("When a record is deleted in the CRM"), forms.DELETES),
    ("crm.delete", N_("When a record is deleted in Google"), forms.DELETES),
    ("delete_conflict", N_("When a record is deleted on one side and edited on the other"), forms.DELETE_CONFLICTS),
]


_MATCH_RULE = {
    EmailMatch.EXACT: N_("Sign in to Google with %(email)s: your administrator requires the same e-mail address."),
    EmailMatch.DOMAIN: N_("Sign in to Google with an address at %(domain)s: your administrator requires it."),
    EmailMatch.ANY: N_("Sign in to Google with the account you want to sync with this CRM account."),
}


def _link_refused(err: LinkError, what: str) -> Response:
    title = _LINK_TITLES.get(type(err), N_("This link is not valid"))
    log.info("%s link refused: %s: %s", what, type(err).__name__, err)
    words = _LINK_WORDS.get(type(err), N_("The link is damaged, or it was not made for this site."))
    return message_page(403, title, words, next_step=_NEW_LINK[what])


def connect_page(app: App, request: Request) -> Response:
    """GET /connect?t=: verify the signed link and the admin's rules, then ask the person to confirm
    they are the CRM user it names (no session at all before the rules allow the user)."""
    try:
        claims = connect.verify_link(app, request.args.get("t", ""))
    except LinkError as err:
        return _link_refused(err, "Connect Google")
    user = connect.connecting_user(app, claims.crm_user_id)  # NotAllowed / Unavailable: a page, no cookie
    rules = load_admin_config(app.store)
    rule = translate(_MATCH_RULE[rules.email_match]) % {"email": user.email, "domain": user.email.rpartition("@")[2]}
    resp = html("message.html", title=N_("Connect Google"), message="")  # headers now, body once the CSRF exists
    session = start_session(app, resp, user.id, SessionStage.CONNECT)
    existing = app.store.get_connection(connection_id_for(user.id))
    current = existing.google_email if existing and existing.status is not ConnectionStatus.DISCONNECTED else None
    values: dict[str, str | None] = {"title": N_("Connect Google"), "user_name": user.name, "user_email": user.email}
    values.update(rule=rule, current=current)
    resp.set_data(render("confirm.html", csrf=csrf_token(session), **values))
    return resp


def _connect_session(app: App, request: Request) -> Session:
    """The connect-stage (or settings) session a confirm/cancel form comes from, CSRF checked."""
    session = session_of(app, request)
    if session is None:
        raise NotConnected(N_("This page has expired. Open Connect Google in the CRM again."))
    if not check_csrf(session, request.form.get("csrf")):
        raise CsrfFailed(N_("The form has expired or did not come from this site; open Connect Google again."))
    return session


def confirm_connect(app: App, request: Request) -> Response:
    """POST /connect/confirm: the person confirmed they are the CRM user; on to Google's consent."""
    session = _connect_session(app, request)
    return _authorize(app, session, redirect("", status=303))


def cancel_connect(app: App, request: Request) -> Response:
    """POST /connect/cancel ("This is not me"): end the session, connect nothing, say what to do."""
    session = _connect_session(app, request)
    log.info("connect link declined on the confirmation page", extra={"connection_id": session.connection_id})
    page = message_page(
        200,
        N_("Nothing was connected"),
        N_("You said this link is not yours, so nothing was connected and you are signed out."),
        next_step=N_(
            "If someone sent you this link, do not use it: open Connect Google from your own CRM account. "
            "Links are personal and work once."
        ),
    )
    end_session(app, page)
    return page


def settings_link(app: App, request: Request) -> Response:
    """GET /settings?t=: a settings link the CRM minted for a connected user: a session, no consent."""
    try:
        claims = connect.verify_settings_link(app, request.args.get("t", ""))
    except LinkError as err:
        return _link_refused(err, "Google sync settings")
    user = access.allowed_user(app, claims.crm_user_id)
    conn = app.store.get_connection(connection_id_for(user.id))
    if conn is None or conn.status is ConnectionStatus.DISCONNECTED:
        raise NotConnected(N_("You have not connected a Google account yet. Use Connect Google in the CRM."))
    resp = redirect("/settings", status=303)
    start_session(app, resp, user.id)
    return resp


def reconnect(app: App, request: Request, who: Caller) -> Response:
    """POST /reconnect: a fresh consent flow for the signed-in user (Reconnect Google / Try again)."""
    require_csrf(who, request.form.get("csrf"))
    assert who.session is not None
    return _authorize(app, who.session, redirect("", status=303))


def _authorize(app: App, session: Session, resp: Response) -> Response:
    start = connect.begin_authorization(app, session.crm_user_id, connect.session_binding(session.csrf_secret))
    resp.headers["Location"] = start.authorization_url
    return resp


def callback(app: App, request: Request, session: Session | None) -> Response:
    """GET /oauth/callback: finish the consent; a verified account gets a settings session."""
    params = oauth_callback.CallbackParams(
        state=request.args.get("state"), code=request.args.get("code"), error=request.args.get("error")
    )
    binding = connect.session_binding(session.csrf_secret) if session else None
    try:
        result = oauth_callback.complete_oauth(app, params, binding)
    except oauth_callback.AccessDenied as err:
        return _retry_page(err, session, N_("Nothing changed. You can try again whenever you like."), N_("Try again"))
    except oauth_callback.DifferentAccount as err:
        return message_page(err.status, err.title, err.message, settings_link=True)
    except (oauth_callback.StateInvalid, oauth_callback.AccountMismatch, oauth_callback.AccountTaken) as err:
        return message_page(err.status, err.title, err.message)
    except ServiceError as err:
        return _retry_page(err, session, "", N_("Try again"))
    missing = ",".join(k.value for k in result.missing_kinds)
    resp = redirect("/settings?notice=connected" + (f"&missing={missing}" if missing else ""), status=303)
    start_session(app, resp, result.connection.crm_user_id)
    return resp


def logout(app: App, request: Request) -> Response:
    """POST /logout: end this user's sessions (every browser) and remove the cookie."""
    session = session_of(app, request)
    if session is not None:
        if not check_csrf(session, request.form.get("csrf") or request.headers.get("X-CSRF-Token")):
            raise CsrfFailed(N_("The form has expired or did not come from this site; reload the page and try again."))
        access.end_sessions(app, session.crm_user_id)
    page = message_page(
        200, N_("Signed out"), N_("You are signed out of Google sync."), next_step=N_("Open it again from the CRM.")
    )
    end_session(app, page)
    return page


def _retry_page(err: ServiceError, session: Session | None, next_step: str, retry: str) -> Response:
    csrf = csrf_token(session) if session else None
    # A connect-stage session (not yet verified) starts over from the confirmation; a settings one reconnects.
    action = "/connect/confirm" if session and session.stage is SessionStage.CONNECT else "/reconnect"
    return message_page(
        err.status, err.title, err.message, next_step=next_step, retry=retry, csrf=csrf, retry_action=action
    )


def settings_page(
    app: App,
    who: Caller,
    *,
    request: Request | None = None,
    notice: str | None = None,
    missing: str = "",  # kinds not granted (their health lines say so)
    form: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    """The settings page: connection, status, the settings form and the actions."""
    assert who.session is not None
    notices = []
    if notice in NOTICES:
        cls, text = NOTICES[notice]
        if notice == "connected" and load_admin_config(app.store).preview_first_sync:
            text = CONNECTED_PREVIEW  # the first sync waits for the user
        notices.append({"id": notice, "cls": cls, "text": text})
    # A kind not granted is said once, on its health line (it needs a reconnect), not in a notice too.
    values: dict[str, Any] = {
        "title": "Google sync settings",
        "csrf": csrf_token(who.session),
        "notices": notices,
        "labels": KIND_LABELS,
        "selects": SELECTS,
        "field_map": forms.FIELD_MAP,
        "custom_map": custom_rows(load_admin_config(app.store).field_mapping),
        "options": options_form,
        "errors": errors or {},
        "connection": None,
    }
    try:
        view = status.get_status(app, who.crm_user_id)
    except NotConnected:
        loc = page_locale(request, None, [])
        return html("settings.html", status_code=status_code, **values, **_speech(loc))
    connection: Connection = view.connection
    loc = page_locale(request, connection.settings.time_zone, view.runs)
    values.update(_speech(loc))
    values.update(
        regions=options_form.regions(loc.language),
        zones=sorted(available_timezones()),
        calendar_zone=calendar_zone(view.runs),
        health=view.health,
        history=history(view.runs, loc),
        resolved=view.resolved,
    )
    values.update(
        connection=connection,
        status=view,
        status_text=_STATUS_TEXT[connection.status],
        form=form if form is not None else connection.settings.model_dump(mode="json"),
        missing_any=any(k.allowed and not k.granted for k in view.kinds),
    )
    return html("settings.html", status_code=status_code, **values)


def _speech(loc: Locale) -> dict[str, Any]:
    """What templates speak with: the locale (times) and gettext."""
    return {"loc": loc, "_": loc.gettext, "ngettext": loc.ngettext, "lang": loc.language}


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
        return settings_page(app, who, request=request, form=doc, errors=forms.field_errors(problems), status_code=422)
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
    result = disconnect.disconnect(app, who.crm_user_id)  # ends every session of the user
    notice = (
        "disconnected-shared"
        if result.google_access_kept
        else "disconnected"
        if result.revoked_at_google
        else "disconnected-unrevoked"
    )
    resp = redirect("/settings?notice=" + notice)
    start_session(app, resp, who.crm_user_id)  # this browser goes on to see the result
    return resp
