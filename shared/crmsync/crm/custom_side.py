"""The mapped custom fields of a CRM record, on the CRM side of every kind: read into the
canonical record, written back as a ``custom_fields`` patch, and kept where the mapping says the
CRM never takes Google's value (``google_to_crm`` fields are Google's to change; ``crm_to_google``
ones the CRM's)."""

from __future__ import annotations

from typing import Any

from ..model import custom
from ..model.field_mapping import MappedFields
from ..model.link import Canon
from ..model.normalise import InvalidValue


def read(mapped: MappedFields, values: dict[str, Any] | None) -> Canon:
    """The canonical entries of a record's custom values (``custom_fields`` of the reply)."""
    if not mapped:
        return {}
    if values is None:
        # A CRM that declared the fields but sent a record without them: never read as "all empty"
        # (that would clear them in Google); the record is skipped with this message until it does.
        raise InvalidValue("custom_fields", "missing from the CRM's record although custom fields are mapped")
    return custom.canon_values(mapped.fields, values)


def patch(mapped: MappedFields, fields: Canon) -> dict[str, Any]:
    """The ``custom_fields`` object of a create or patch for the canonical ``fields`` (only the
    mapped names the CRM takes; a cleared value is sent as null)."""
    keep = mapped.kept_by(into_crm=True)
    out: dict[str, Any] = {}
    for canon_key, value in fields.items():
        if not custom.is_custom(canon_key) or canon_key in keep:
            continue
        field = mapped.fields.get(custom.name_of(canon_key))
        if field is not None:
            out[field.name] = custom.as_crm(field, value)
    return out
