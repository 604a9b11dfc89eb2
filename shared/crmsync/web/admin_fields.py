"""The admin page's "Field mapping" section (``GET``/``POST /admin/fields``): one row per custom field
the CRM declares, per kind, with the Google field it syncs to (or none), its key and direction. Saving
goes through the same service as ``PUT /admin/field-mapping`` (checked against the CRM's declarations),
and a refused entry is shown next to its row."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from werkzeug.wrappers import Request, Response

from crmsync.bootstrap import App
from crmsync.model.custom import CrmField
from crmsync.model.field_mapping import TARGETS, FieldMapping
from crmsync.model.kinds import Kind
from crmsync.model.settings import Direction
from crmsync.security.sessions import Session, csrf_token
from crmsync.services import field_mapping
from crmsync.services.admin_config import load_admin_config
from crmsync.services.errors import InvalidInput, ServiceError
from crmsync.services.run_words import N_
from crmsync.services.scopes import KIND_LABELS
from crmsync.web.admin_auth import require_admin_csrf
from crmsync.web.forms import DIRECTIONS
from crmsync.web.responses import redirect

NONE = ""  # the target choice "not synced"
TYPE_WORDS = {
    "string": N_("text"),
    "text": N_("several lines of text"),
    "number": N_("number"),
    "date": N_("date"),
    "boolean": N_("yes/no"),
    "picklist": N_("choice"),
}
# The side a newly mapped field is filled from where both sides hold different values.
FILL_WORDS = {"": N_("Neither: a conflict"), "crm": N_("The CRM"), "google": N_("Google")}


def _rows(
    crm: dict[Kind, list[CrmField]], mapping: FieldMapping, form: dict[str, str] | None
) -> dict[Kind, list[dict[str, Any]]]:
    """Per kind, a row per declared field with its current (or just submitted) choice."""
    out: dict[Kind, list[dict[str, Any]]] = {}
    for kind in Kind:
        current = {m.field.name: m for m in mapping.of(kind)}
        rows = []
        for field in crm.get(kind, []):
            name, m = f"{kind.value}.{field.name}", current.get(field.name)
            rows.append(
                {
                    "id": name,
                    "field": field,
                    "target": form.get(name + ".target", NONE) if form is not None else (m.target.value if m else NONE),
                    "key": form.get(name + ".key", "") if form is not None else (m.key or "" if m else ""),
                    "direction": form.get(name + ".direction", Direction.TWO_WAY.value)
                    if form is not None
                    else (
                        m.direction.value
                        if m
                        else (Direction.CRM_TO_GOOGLE if field.read_only else Direction.TWO_WAY).value
                    ),
                    "fill_from": form.get(name + ".fill_from", "")
                    if form is not None
                    else (m.fill_from.value if m and m.fill_from else ""),
                }
            )
        out[kind] = rows
    return out


def _request(
    crm: dict[Kind, list[CrmField]], form: dict[str, str]
) -> tuple[dict[str, list[dict[str, Any]]], dict[str, str]]:
    """The ``PUT /admin/field-mapping`` body the form stands for, and which row each entry came from."""
    body: dict[str, list[dict[str, Any]]] = {}
    where: dict[str, str] = {}
    for kind in Kind:
        entries: list[dict[str, Any]] = []
        for field in crm.get(kind, []):
            name = f"{kind.value}.{field.name}"
            target = form.get(name + ".target", NONE)
            if target == NONE:
                continue
            key = form.get(name + ".key", "").strip() or None
            where[f"{kind.value}.{len(entries)}"] = name
            entries.append(
                {
                    "crm_field": field.name,
                    "target": target,
                    "key": key,
                    "direction": form.get(name + ".direction", Direction.TWO_WAY.value),
                    "fill_from": form.get(name + ".fill_from", "") or None,
                }
            )
        body[kind.value] = entries
    return body, where


def page(app: App, request: Request, session: Session, render: Callable[..., Response]) -> Response:
    """GET /admin/fields (the section) and POST (save the mapping)."""
    try:
        crm = field_mapping.declared_fields(app)
    except ServiceError as err:
        return render(request, "message.html", "fields", status=err.status, heading=err.title, message=err.message)
    mapping = load_admin_config(app.store).field_mapping
    errors: dict[str, str] = {}
    form: dict[str, str] | None = None
    status = 200
    if request.method == "POST":
        require_admin_csrf(session, request.form.get("csrf"))
        form = {k: v[:200] for k, v in request.form.items()}
        body, where = _request(crm, form)
        try:
            field_mapping.put_mapping(app, body)
        except InvalidInput as err:
            status = 422
            for p in err.problems:
                entry = ".".join(p.field.split(".")[:2])
                errors[where.get(entry, p.field.split(".")[0])] = p.message
        else:
            return redirect("/admin/fields?notice=saved")
    return render(
        request,
        "fields.html",
        "fields",
        status=status,
        csrf=csrf_token(session),
        rows=_rows(crm, mapping, form),
        targets={k: sorted(t.value for t in TARGETS[k]) for k in Kind},
        directions=DIRECTIONS,
        fill_words=FILL_WORDS,
        type_words=TYPE_WORDS,
        labels=KIND_LABELS,
        errors=errors,
        saved=request.args.get("notice") == "saved" and request.method == "GET",
    )
