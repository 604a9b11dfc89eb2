"""The admin's field mapping: read it with the fields the CRM declares, and replace it after
checking every entry against them (``GET``/``PUT /admin/field-mapping``)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from crmsync.crm.port import CrmError
from crmsync.model.custom import MAX_FIELDS, CrmField, CustomName
from crmsync.model.field_mapping import CRM_KIND, FieldMapping, Key, Target
from crmsync.model.kinds import Kind, Side
from crmsync.model.settings import Direction
from crmsync.services.admin_config import load_admin_config, problems_of
from crmsync.services.deps import StoreCrm
from crmsync.services.errors import FieldProblem, InvalidInput, Unavailable


class MapRequest(BaseModel):
    """One entry as the admin sends it: the CRM field by name; its declaration is looked up."""

    model_config = ConfigDict(extra="forbid")

    crm_field: CustomName
    target: Target
    key: Key | None = None
    direction: Direction = Direction.TWO_WAY
    fill_from: Side | None = None  # newly mapped, different values on both sides: this side wins


class MappingRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    contacts: list[MapRequest] = Field(default_factory=list, max_length=MAX_FIELDS)
    events: list[MapRequest] = Field(default_factory=list, max_length=MAX_FIELDS)
    tasks: list[MapRequest] = Field(default_factory=list, max_length=MAX_FIELDS)


def declared_fields(app: StoreCrm) -> dict[Kind, list[CrmField]]:
    """The custom fields the CRM declares, per crmsync kind (Unavailable if the CRM cannot say)."""
    try:
        return {kind: app.crm.fields(CRM_KIND[kind]) for kind in Kind if app.crm.capabilities().offers(CRM_KIND[kind])}
    except CrmError as err:
        raise Unavailable(f"the CRM did not list its fields ({err})") from None


def get_mapping(app: StoreCrm) -> dict[str, Any]:
    """The stored mapping and the fields the CRM offers for it."""
    mapping = load_admin_config(app.store).field_mapping
    crm = declared_fields(app)
    return {
        "mapping": mapping.model_dump(mode="json"),
        "crm_fields": {k.value: [f.model_dump() for f in crm.get(k, [])] for k in Kind},
    }


def put_mapping(app: StoreCrm, data: Any) -> FieldMapping:
    """Check ``data`` against the CRM's declared fields and store it as the mapping."""
    if not isinstance(data, dict):
        raise InvalidInput([FieldProblem("", "the body must be a JSON object with contacts, events and tasks")])
    try:
        request = MappingRequest.model_validate(data)
    except ValidationError as err:
        raise InvalidInput(problems_of(err)) from None
    crm = declared_fields(app)
    problems: list[FieldProblem] = []
    entries: dict[str, list[dict[str, Any]]] = {}
    for kind in Kind:
        fields = {f.name: f for f in crm.get(kind, [])}
        entries[kind.value] = []
        for i, req in enumerate(getattr(request, kind.value)):
            field = fields.get(req.crm_field)
            if field is None:
                offered = ", ".join(sorted(fields)) or "none"
                problems.append(
                    FieldProblem(
                        f"{kind.value}.{i}.crm_field",
                        f"the CRM has no custom field {req.crm_field!r} for {kind.value} (it offers: {offered})",
                    )
                )
                continue
            entries[kind.value].append({"field": field, **req.model_dump(exclude={"crm_field"})})
    if problems:
        raise InvalidInput(problems)
    try:
        mapping = FieldMapping.model_validate(entries)
    except ValidationError as err:
        raise InvalidInput(problems_of(err)) from None
    config = load_admin_config(app.store).model_copy(update={"field_mapping": mapping})
    app.store.put_global_config(config.model_dump(mode="json"))
    return mapping
