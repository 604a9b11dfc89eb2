"""A user's answers on the settings page, as a form post or JSON: a stopped run's "Delete them" /
"Keep them", "use the other value" for a conflict, and "Start syncing" after a kind's preview."""

from __future__ import annotations

from collections.abc import Mapping

from werkzeug.wrappers import Request, Response

from crmsync.bootstrap import App
from crmsync.model.kinds import Kind
from crmsync.services import conflict_choice, stops
from crmsync.services import start_kind as start_kind_service
from crmsync.services.errors import FieldProblem, InvalidInput
from crmsync.services.stops import StopAnswer
from crmsync.web.auth import Caller, require_csrf
from crmsync.web.responses import redirect


def answer_stop(app: App, request: Request, who: Caller, raw: str, answer: StopAnswer, *, browser: bool) -> Response:
    """POST /stops/<kind>/delete ("Delete them": approve what the stopped run held back) or
    /stops/<kind>/restore ("Keep them": restore those records from the other side); form or JSON."""
    from crmsync.web.responses import as_json

    kind = _kind_form(request, who, raw, browser=browser)
    count = stops.answer_stop(app, who.crm_user_id, kind, answer)
    deleting = answer is StopAnswer.DELETE
    if browser:
        return redirect("/settings?notice=" + ("approved" if deleting else "restoring"))
    return as_json({"kind": raw, "deletes_approved" if deleting else "records_restored": count}, status=202)


def choose_value(app: App, request: Request, who: Caller, raw: str, *, browser: bool) -> Response:
    """POST /conflicts/<kind>/choose: "use the other value" for a listed conflict, named by the CRM
    record id and the field (form fields, or a JSON body); the value itself comes from the run log."""
    from crmsync.web.api import json_body
    from crmsync.web.responses import as_json

    kind = _kind_form(request, who, raw, browser=browser)
    body = request.form if browser else json_body(request)
    if not isinstance(body, Mapping):
        raise InvalidInput([FieldProblem("", "send an object with crm_id and field")])
    crm_id, field = body.get("crm_id"), body.get("field")
    problems = [
        FieldProblem(name, "required: a short text")
        for name, value in (("crm_id", crm_id), ("field", field))
        if not isinstance(value, str) or not value or len(value) > 200
    ]
    if problems:
        raise InvalidInput(problems)
    choice = conflict_choice.choose_other_value(app, who.crm_user_id, kind, str(crm_id), str(field))
    if browser:
        return redirect("/settings?notice=chosen#conflicts-h")
    return as_json({"kind": raw, "crm_id": choice.crm_id, "field": choice.field, "value": choice.value}, status=202)


def start_kind(app: App, request: Request, who: Caller, raw: str, *, browser: bool) -> Response:
    """POST /preview/<kind>/start: "Start syncing <kind>" after its preview (form or JSON)."""
    from crmsync.web.responses import as_json

    kind = _kind_form(request, who, raw, browser=browser)
    start_kind_service.start_syncing(app, who.crm_user_id, kind)
    if browser:
        return redirect("/settings?notice=started")
    return as_json({"kind": raw, "started": True}, status=202)


def _kind_form(request: Request, who: Caller, raw: str, *, browser: bool) -> Kind:
    """The kind a user action names in its path, after the CSRF check (the form's field, or the header)."""
    from crmsync.web.auth import CSRF_HEADER

    require_csrf(who, request.form.get("csrf") if browser else request.headers.get(CSRF_HEADER))
    if raw not in {k.value for k in Kind}:
        raise InvalidInput([FieldProblem("kind", f"unknown kind {raw!r}: contacts, events or tasks")])
    return Kind(raw)
