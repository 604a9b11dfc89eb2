"""The web function's WSGI app: routing, authentication, logging context and error mapping."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound, RequestEntityTooLarge
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from crmsync.bootstrap import App
from crmsync.model.ids import is_connection_id
from crmsync.obs.logging import log_context
from crmsync.security.input import BodyTooLarge, limit_request
from crmsync.services.errors import ServiceError
from crmsync.services.run_words import N_
from crmsync.services.scopes import connection_id_for
from crmsync.services.stops import StopAnswer
from crmsync.web import admin_pages, answers, api, hooks, pages, push
from crmsync.web.admin_auth import AdminCsrfFailed, LoginThrottle, admin_session
from crmsync.web.auth import Caller, CsrfFailed, Unauthorized, caller, is_admin, session_of
from crmsync.web.i18n import speaking
from crmsync.web.responses import as_json, message_page, problem, redirect, secure, service_problem, wants_html

log = logging.getLogger("crmsync.web")

URLS = Map(
    [
        Rule("/", endpoint="root", methods=["GET"]),
        Rule("/healthz", endpoint="health", methods=["GET"]),
        Rule("/openapi.yaml", endpoint="openapi", methods=["GET"]),
        Rule("/connect", endpoint="connect", methods=["GET"]),
        Rule("/connect/confirm", endpoint="connect_confirm", methods=["POST"]),
        Rule("/connect/cancel", endpoint="connect_cancel", methods=["POST"]),
        Rule("/logout", endpoint="logout", methods=["POST"]),
        Rule("/oauth/callback", endpoint="callback", methods=["GET"]),
        Rule("/push/calendar", endpoint="push_calendar", methods=["POST"]),
        Rule("/reconnect", endpoint="reconnect", methods=["POST"]),
        Rule("/settings", endpoint="settings", methods=["GET", "POST", "PUT"]),
        Rule("/status", endpoint="status", methods=["GET"]),
        Rule("/sync", endpoint="sync", methods=["POST"]),
        Rule("/disconnect", endpoint="disconnect", methods=["POST"]),
        Rule("/stops/<kind>/delete", endpoint="approve_deletes", methods=["POST"]),
        Rule("/stops/<kind>/restore", endpoint="restore_records", methods=["POST"]),
        Rule("/conflicts/<kind>/choose", endpoint="choose_value", methods=["POST"]),
        Rule("/preview/<kind>/start", endpoint="start_kind", methods=["POST"]),
        Rule("/admin/config", endpoint="admin_config", methods=["GET", "PUT"]),
        Rule("/admin/field-mapping", endpoint="admin_field_mapping", methods=["GET", "PUT"]),
        Rule("/admin/connections", endpoint="admin_connections", methods=["GET"]),
        Rule("/admin/connections/<cid>/pause", endpoint="admin_pause", methods=["POST"]),
        Rule("/admin/connections/<cid>/resume", endpoint="admin_resume", methods=["POST"]),
        Rule("/admin/connections/<cid>/sync", endpoint="admin_sync", methods=["POST"]),
        Rule("/crm/changes", endpoint="crm_changes", methods=["POST"]),
        Rule("/admin", endpoint="admin_home", methods=["GET"]),
        Rule("/admin/fields", endpoint="admin_fields", methods=["GET", "POST"]),
        Rule("/admin/login", endpoint="admin_login", methods=["GET", "POST"]),
        Rule("/admin/logout", endpoint="admin_logout", methods=["POST"]),
    ],
    strict_slashes=False,
)


class WebApp:
    """Serves every public route; ``handle(request)`` for functions-framework, WSGI for werkzeug servers."""

    def __init__(self, app: App) -> None:
        app.config.session_key  # noqa: B018  (fail at start-up, naming CRMSYNC_SESSION_KEY, not on a request)
        self.app = app
        self.login_throttle = LoginThrottle()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        return self.handle(Request(environ))(environ, start_response)

    def handle(self, request: Request) -> Response:
        """Route one request, with the logging context set and every error mapped to a response."""
        trace = request.headers.get("X-Cloud-Trace-Context") or request.headers.get("traceparent")
        started = time.perf_counter()
        with log_context(function="web", trace=trace), speaking(request):
            resp = secure(self._dispatch(request))
            log.info(
                "%s %s %s",
                request.method,
                request.path,
                resp.status_code,
                extra={"http_status": resp.status_code, "latency_ms": round((time.perf_counter() - started) * 1000)},
            )
            return resp

    def _dispatch(self, request: Request) -> Response:
        adapter = URLS.bind_to_environ(request.environ)
        browser = wants_html(request)
        try:
            limit_request(request)  # before anything reads the body
            endpoint, args = adapter.match()
            if endpoint.startswith("admin_"):
                return self._admin(endpoint, request, args)
            return self._route(endpoint, request, browser, args)
        except Unauthorized as err:
            if browser:
                return message_page(
                    401, N_("Please sign in"), N_("Open Connect Google in the CRM to reach your settings.")
                )
            resp = problem(401, "Unauthorized", str(err))
            resp.headers["WWW-Authenticate"] = 'Bearer realm="crmsync"'
            return resp
        except CsrfFailed as err:
            if browser:
                return message_page(403, N_("Please reload the page"), str(err), settings_link=True)
            return problem(403, "CSRF check failed", f"{err} (send the X-CSRF-Token header with cookie sessions)")
        except ServiceError as err:
            if browser:
                return message_page(err.status, err.title, err.message, settings_link=err.status != 404)
            return service_problem(err)
        except (BodyTooLarge, RequestEntityTooLarge) as err:
            detail = str(err) if isinstance(err, BodyTooLarge) else "the body is over the size limit"
            if browser:
                return message_page(
                    413,
                    N_("That was too much"),
                    N_("The request was too large. Nothing was saved."),
                    settings_link=True,
                )
            return problem(413, "Payload too large", detail)
        except MethodNotAllowed as err:
            resp = problem(405, "Method not allowed", f"{request.method} is not supported on {request.path}")
            resp.headers["Allow"] = ", ".join(err.valid_methods or [])
            return resp
        except NotFound:
            if browser:
                return message_page(404, N_("Page not found"), N_("There is nothing here."), settings_link=True)
            return problem(404, "Not found", f"no route for {request.path}")
        except HTTPException as err:
            return problem(err.code or 400, err.name, err.description or err.name)
        except Exception:
            log.exception("unhandled error on %s %s", request.method, request.path)
            if browser:
                return message_page(
                    500, N_("Something went wrong"), N_("Please try again in a minute."), settings_link=True
                )
            return problem(500, "Internal error", "Something went wrong on our side; try again in a minute.")

    def _route(self, endpoint: str, request: Request, browser: bool, args: Mapping[str, Any]) -> Response:
        app = self.app
        if endpoint == "health":
            return as_json({"status": "ok"})
        if endpoint == "openapi":
            return api.openapi(app)
        if endpoint == "connect":
            return pages.connect_page(app, request)
        if endpoint == "connect_confirm":
            return pages.confirm_connect(app, request)
        if endpoint == "connect_cancel":
            return pages.cancel_connect(app, request)
        if endpoint == "logout":
            return pages.logout(app, request)
        if endpoint == "settings" and request.method == "GET" and "t" in request.args:
            return pages.settings_link(app, request)
        if endpoint == "push_calendar":
            return push.calendar_notification(app, request)
        if endpoint == "crm_changes":
            return hooks.crm_changes_hook(app, request)
        if endpoint == "callback":
            return pages.callback(app, request, session_of(app, request))
        if endpoint == "root":
            return redirect("/settings", status=302)
        who = caller(app, request)
        with log_context(connection_id=connection_id_for(who.crm_user_id)):
            return self._user_route(endpoint, request, who, browser, args)

    def _user_route(
        self, endpoint: str, request: Request, who: Caller, browser: bool, args: Mapping[str, Any]
    ) -> Response:
        app = self.app
        form = browser and who.session is not None
        if endpoint == "reconnect" and who.session is not None:
            return pages.reconnect(app, request, who)
        if endpoint == "settings":
            if request.method == "GET":
                if form:
                    notice, missing = request.args.get("notice"), request.args.get("missing", "")
                    return pages.settings_page(app, who, request=request, notice=notice, missing=missing)
                return api.get_settings(app, who)
            if request.method == "POST" and form:
                return pages.save_settings(app, request, who)
            if request.method == "PUT":
                return api.put_settings(app, request, who)
        if endpoint == "status":
            return api.get_status(app, who)
        if endpoint == "sync":
            return pages.sync(app, request, who) if form else api.post_sync(app, request, who)
        if endpoint in ("approve_deletes", "restore_records"):
            answer = StopAnswer.DELETE if endpoint == "approve_deletes" else StopAnswer.RESTORE
            return answers.answer_stop(app, request, who, str(args.get("kind", "")), answer, browser=form)
        if endpoint == "start_kind":
            return answers.start_kind(app, request, who, str(args.get("kind", "")), browser=form)
        if endpoint == "choose_value":
            return answers.choose_value(app, request, who, str(args.get("kind", "")), browser=form)
        if endpoint == "disconnect":
            return pages.disconnect_form(app, request, who) if form else api.post_disconnect(app, request, who)
        raise MethodNotAllowed(valid_methods=["GET", "PUT"] if endpoint == "settings" else ["POST"])

    def _admin(self, endpoint: str, request: Request, args: Mapping[str, Any]) -> Response:
        """The admin API (bearer admin key, JSON) and the admin pages (admin session cookie, forms)."""
        app = self.app
        if is_admin(app, request):
            with log_context(admin=True):
                return self._admin_api(endpoint, request, args)
        try:
            return self._admin_page(endpoint, request, args)
        except AdminCsrfFailed as err:
            return admin_pages.csrf_failed(request, err)

    def _admin_page(self, endpoint: str, request: Request, args: Mapping[str, Any]) -> Response:
        app = self.app
        if endpoint == "admin_logout":
            return admin_pages.logout(app, request)
        if endpoint == "admin_login":
            if request.method == "GET":
                return admin_pages.login_page(app, request)
            return admin_pages.login(app, request, self.login_throttle)
        session = admin_session(app, request)
        page = endpoint in ("admin_home", "admin_fields") or request.mimetype == "application/x-www-form-urlencoded"
        if session is None or not page:
            if endpoint in ("admin_home", "admin_fields") or (page and wants_html(request)):
                return redirect("/admin/login", status=303)
            resp = problem(401, "Unauthorized", "send the admin API key as 'Authorization: Bearer <key>'")
            resp.headers["WWW-Authenticate"] = 'Bearer realm="crmsync-admin"'
            return resp
        with log_context(admin=True):
            if endpoint == "admin_home":
                return admin_pages.connections_page(app, request, session)
            if endpoint == "admin_fields":
                return admin_pages.fields_page(app, request, session)
            if endpoint in admin_pages.ACTIONS:
                return admin_pages.action(app, request, session, endpoint, str(args["cid"]))
        raise NotFound()  # the admin config has no page (yet): the API only

    def _admin_api(self, endpoint: str, request: Request, args: Mapping[str, Any]) -> Response:
        app = self.app
        if endpoint == "admin_config":
            return api.admin_get_config(app) if request.method == "GET" else api.admin_put_config(app, request)
        if endpoint == "admin_field_mapping":
            return api.admin_get_mapping(app) if request.method == "GET" else api.admin_put_mapping(app, request)
        if endpoint == "admin_connections":
            return api.admin_list(app, request)
        if endpoint not in admin_pages.ACTIONS:
            raise NotFound()  # the pages are for browsers with an admin session, not for the API key
        if not is_connection_id(args["cid"]):
            return problem(404, "Not found", "no connection with that id")
        with log_context(connection_id=args["cid"]):
            if endpoint == "admin_pause":
                return api.admin_pause(app, args["cid"])
            if endpoint == "admin_resume":
                return api.admin_resume(app, args["cid"])
            return api.admin_sync(app, args["cid"])
