"""JSON handlers: the user's settings/status API and the admin API (see openapi.yaml)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from werkzeug.wrappers import Request, Response

from crmsync.bootstrap import App
from crmsync.model.state import Connection
from crmsync.security.input import BadJson, parse_json
from crmsync.services import admin, admin_health, disconnect, field_mapping, settings, status, sync_now
from crmsync.services.errors import FieldProblem, InvalidInput
from crmsync.web.auth import CSRF_HEADER, Caller, require_csrf
from crmsync.web.responses import as_json, secure

OPENAPI = Path(__file__).with_name("openapi.yaml")


def json_body(request: Request) -> Any:
    """The request's JSON body (size and depth checked first), or InvalidInput saying what is wrong with it."""
    if request.mimetype != "application/json":
        raise InvalidInput([FieldProblem("", "send the body as application/json")])
    try:
        return parse_json(request.get_data())
    except BadJson as err:
        raise InvalidInput([FieldProblem("", str(err))]) from None


def connection_json(connection: Connection) -> dict[str, Any]:
    """A connection as the APIs show it (no tokens, no lease internals)."""
    return {
        "id": connection.id,
        "crm_user_id": connection.crm_user_id,
        "google_email": connection.google_email,
        "status": connection.status.value,
        "status_reason": connection.status_reason,
        "scopes": connection.scopes,
        "next_sync_at": _iso(connection.next_sync_at),
        "created_at": connection.created_at.isoformat(),
        "last_run_at": _last_run_at(connection),
    }


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _last_run_at(connection: Connection) -> str | None:
    run = connection.last_run or {}
    at = run.get("finished_at") or run.get("started_at")
    return _iso(at) if isinstance(at, datetime) else None


def get_settings(app: App, who: Caller) -> Response:
    """GET /settings (JSON)."""
    connection = settings.connection_of(app, who.crm_user_id)
    return as_json({"connection_id": connection.id, "settings": connection.settings.model_dump(mode="json")})


def put_settings(app: App, request: Request, who: Caller) -> Response:
    """PUT /settings: replace the settings (422 with field paths when invalid)."""
    require_csrf(who, request.headers.get(CSRF_HEADER))
    connection = settings.update_settings(app, who.crm_user_id, json_body(request))
    return as_json({"connection_id": connection.id, "settings": connection.settings.model_dump(mode="json")})


def get_status(app: App, who: Caller) -> Response:
    """GET /status."""
    return as_json(status.get_status(app, who.crm_user_id).as_json())


def post_sync(app: App, request: Request, who: Caller) -> Response:
    """POST /sync (JSON): 202 with what was queued."""
    require_csrf(who, request.headers.get(CSRF_HEADER))
    result = sync_now.request_sync(app, who.crm_user_id)
    body = {"enqueued": result.enqueued, "rerun_requested": result.rerun_requested}
    return as_json(body, status=202)


def post_disconnect(app: App, request: Request, who: Caller) -> Response:
    """POST /disconnect (JSON)."""
    require_csrf(who, request.headers.get(CSRF_HEADER))
    result = disconnect.disconnect(app, who.crm_user_id)
    return as_json(
        {
            "status": "disconnected",
            "revoked_at_google": result.revoked_at_google,
            "google_access_kept": result.google_access_kept,
        }
    )


def openapi(_: App) -> Response:
    """GET /openapi.yaml."""
    return secure(Response(OPENAPI.read_bytes(), content_type="application/yaml"))


# -- admin -----------------------------------------------------------------------------------------------


def admin_get_config(app: App) -> Response:
    """GET /admin/config."""
    return as_json(admin.get_config(app).model_dump(mode="json"))


def admin_put_config(app: App, request: Request) -> Response:
    """PUT /admin/config."""
    return as_json(admin.put_config(app, json_body(request)).model_dump(mode="json"))


def admin_get_mapping(app: App) -> Response:
    """GET /admin/field-mapping."""
    return as_json(field_mapping.get_mapping(app))


def admin_put_mapping(app: App, request: Request) -> Response:
    """PUT /admin/field-mapping."""
    field_mapping.put_mapping(app, json_body(request))
    return as_json(field_mapping.get_mapping(app))


def admin_list(app: App, request: Request) -> Response:
    """GET /admin/connections?status=&limit=&cursor= (or ?state=: by health, each with its health)."""
    if "state" in request.args:
        return _admin_list_by_health(app, request)
    raw = request.args.get("limit", "100")
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 3):  # "²".isdigit() is True, int("²") fails
        raise InvalidInput([FieldProblem("limit", f"must be a whole number from 1 to 500, got {raw[:20]!r}")])
    cursor = request.args.get("cursor") or None
    if cursor is not None and len(cursor) > 1000:
        raise InvalidInput([FieldProblem("cursor", "not a cursor from a previous page")])
    page = admin.list_connections(app, request.args.get("status"), int(raw), cursor)
    return as_json({"connections": [connection_json(c) for c in page.items], "next_cursor": page.next_cursor})


def _admin_list_by_health(app: App, request: Request) -> Response:
    """The admin page's list as JSON: connections in one health state, with their health (the page's facts)."""
    problems = []
    if request.args.get("status"):
        problems.append(FieldProblem("status", "give status or state, not both"))
    raw = request.args.get("limit", "25")
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 3) or not 1 <= int(raw) <= admin_health.MAX_LIMIT:
        problems.append(FieldProblem("limit", f"must be a whole number from 1 to {admin_health.MAX_LIMIT}"))
    cursor = request.args.get("cursor") or None
    if cursor is not None and len(cursor) > 1000:
        problems.append(FieldProblem("cursor", "not a cursor from a previous page"))
    if problems:
        raise InvalidInput(problems)
    page = admin_health.list_health(app, admin_health.parse_state(request.args["state"]), int(raw), cursor)
    items = [{**connection_json(h.connection), "health": h.as_json()} for h in page.items]
    return as_json({"connections": items, "next_cursor": page.next_cursor, "scanned": page.scanned})


def admin_pause(app: App, connection_id: str) -> Response:
    """POST /admin/connections/{id}/pause."""
    return as_json(connection_json(admin.pause(app, connection_id)))


def admin_resume(app: App, connection_id: str) -> Response:
    """POST /admin/connections/{id}/resume."""
    return as_json(connection_json(admin.resume(app, connection_id)))


def admin_sync(app: App, connection_id: str) -> Response:
    """POST /admin/connections/{id}/sync: "Sync now" for one connection (202)."""
    result = admin.sync_now(app, connection_id)
    return as_json({"enqueued": result.enqueued, "rerun_requested": result.rerun_requested}, status=202)
