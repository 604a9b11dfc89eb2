"""CRM custom fields of activities in a Google Calendar event: its extended properties.

A mapped field is one key of ``extendedProperties.private`` (this calendar's copy only) or
``.shared`` (every attendee's copy), holding the value as text. Calendar's patch leaves the other
keys alone and deletes a key sent as null, so a write names only the mapped keys it changes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..model import custom
from ..model.field_mapping import MappedFields, Target
from ..model.link import Canon

SCOPE = {Target.PRIVATE_PROPERTY: "private", Target.SHARED_PROPERTY: "shared"}


def read(event: Mapping[str, Any], mapped: MappedFields) -> Canon:
    """The canonical custom entries of an event (its master) for the mapped fields."""
    if not mapped:
        return {}
    props = event.get("extendedProperties") or {}
    values = {
        m.field.name: (props.get(SCOPE[m.target]) or {}).get(str(m.key)) for m in mapped.maps if m.target in SCOPE
    }
    return custom.canon_values(mapped.fields, values, lenient=True)


def properties(fields: Canon, mapped: MappedFields) -> dict[str, dict[str, str | None]]:
    """The ``extendedProperties`` to send for the changed canonical ``fields`` (null deletes a key);
    fields Google keeps (``google_to_crm``) are left out."""
    keep = mapped.kept_by(into_crm=False)
    out: dict[str, dict[str, str | None]] = {}
    for m in mapped.maps:
        canon_key = custom.key(m.field.name)
        if canon_key in fields and canon_key not in keep and m.target in SCOPE:
            out.setdefault(SCOPE[m.target], {})[str(m.key)] = custom.as_text(m.field, fields[canon_key])
    return out
