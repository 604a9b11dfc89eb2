"""Custom field values as the CRM Sync API defines them: checked against the fields a CRM declares.

Used by the servers that implement the contract here (the in-memory fake and the reference CRM)
and by the conformance kit. A value must have its field's JSON type: ``string``/``text``/``date``/
``picklist`` a string (a date ``YYYY-MM-DD``, a picklist value one of its options), ``number`` a
JSON number, ``boolean`` true or false, and a ``multi`` field an array of those. Read-only fields
are the CRM's to set.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from ..model.custom import CrmField
from .validation_formats import FieldError, pointer

# The reference CRM's custom fields (infra/crm declares them; the seeder fills some).
REFERENCE_FIELDS: dict[str, list[CrmField]] = {
    "contacts": [
        CrmField(name="customer_tier", label="Customer tier", type="picklist", options=["Bronze", "Silver", "Gold"]),
        CrmField(name="account_number", label="Account number", type="string", read_only=True),
        CrmField(name="renewal_date", label="Renewal date", type="date"),
        CrmField(name="newsletter", label="Newsletter", type="boolean"),
        CrmField(name="lead_score", label="Lead score", type="number"),
        CrmField(name="interests", label="Interests", type="picklist", multi=True, options=["AI", "Cloud", "Data"]),
        CrmField(name="assistant", label="Assistant", type="string"),
    ],
    "activities": [
        CrmField(name="deal_stage", label="Deal stage", type="picklist", options=["Lead", "Proposal", "Won", "Lost"]),
        CrmField(name="meeting_code", label="Meeting code", type="string"),
        # Calendar's event colours are "1".."11"; "show as" is opaque (busy) or transparent (free).
        CrmField(name="colour", label="Colour", type="picklist", options=[str(n) for n in range(1, 12)]),
        CrmField(name="show_as", label="Show as", type="string"),
    ],
    "tasks": [
        CrmField(name="priority", label="Priority", type="picklist", options=["Low", "Normal", "High"]),
        CrmField(name="effort_hours", label="Effort (hours)", type="number"),
    ],
}


def _type_error(field: CrmField, value: Any) -> str | None:
    if field.type == "number":
        return None if isinstance(value, int | float) and not isinstance(value, bool) else "expected a number"
    if field.type == "boolean":
        return None if isinstance(value, bool) else "expected true or false"
    if not isinstance(value, str):
        return "expected a string"
    if field.type == "date":
        try:
            date.fromisoformat(value)
        except ValueError:
            return "expected a date YYYY-MM-DD"
        return None if len(value) == 10 else "expected a date YYYY-MM-DD"
    if field.type == "picklist" and value not in (field.options or []):
        return f"must be one of: {', '.join(field.options or [])}"
    if field.type == "string" and ("\n" in value or "\r" in value):
        return "one line of text expected (a text field takes several)"
    return None


def custom_errors(
    kind: str, values: Mapping[str, Any] | None, declared: Sequence[CrmField], *, touched: Sequence[str] | None = None
) -> list[FieldError]:
    """What is wrong with a record's ``custom_fields`` (``touched``: only these names were sent,
    so only they are checked and a read-only one among them is refused)."""
    if not values:
        return []
    fields = {f.name: f for f in declared}
    errors = []
    for name, value in values.items():
        if touched is not None and name not in touched:
            continue
        where = pointer(["custom_fields", name])
        field = fields.get(name)
        if field is None:
            errors.append(FieldError(where, f"unknown custom field; GET /{kind}/fields lists the fields of {kind}"))
            continue
        if touched is not None and field.read_only:
            errors.append(FieldError(where, "read-only: the CRM sets this field"))
            continue
        if value is None:
            continue
        items = value if field.multi and isinstance(value, list) else [value]
        if field.multi and not isinstance(value, list):
            errors.append(FieldError(where, "expected an array (the field holds several values)"))
            continue
        problem = next((p for p in (_type_error(field, v) for v in items) if p), None)
        if problem:
            errors.append(FieldError(where, problem))
    return errors


def merged(current: Mapping[str, Any] | None, patch: Mapping[str, Any] | None) -> dict[str, Any]:
    """A record's custom values after a patch: the names sent replace theirs, ``null`` clears one."""
    out = {**(current or {}), **(patch or {})}
    return {k: v for k, v in out.items() if v is not None and v != []}


def sent_errors(kind: str, body: Any, declared: Mapping[str, Sequence[CrmField]]) -> list[FieldError]:
    """What is wrong with the custom values a create or patch ``body`` sends (checked against the
    fields declared for ``kind``; a read-only one is refused)."""
    sent = body.get("custom_fields") if isinstance(body, Mapping) else None
    if not isinstance(sent, Mapping):
        return []
    return custom_errors(kind, sent, declared.get(kind, ()), touched=list(sent))
