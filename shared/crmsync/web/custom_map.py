"""The admin's custom-field mapping as the settings page shows it (read-only): per kind, one row
per mapped CRM field, next to the built-in fields' rows (``forms.FIELD_MAP``)."""

from __future__ import annotations

from crmsync.model.field_mapping import SINGLE, FieldMap, FieldMapping, Target
from crmsync.model.kinds import Kind
from crmsync.web.forms import DIRECTIONS


def google_place(m: FieldMap) -> str:
    """Where the value lives in Google, as the API names it."""
    if m.target is Target.NOTES_LINE:
        return f"notes ({m.key}: …)"
    if m.target in SINGLE:  # no key: the first nickname/occupation, the event's colour or transparency
        return m.target.value
    return f"{m.target.value} ({m.key})"


def custom_rows(mapping: FieldMapping) -> dict[Kind, list[tuple[str, str, str, str]]]:
    """Per kind: (the CRM field's label, its contract name, the Google field, the direction's words)."""
    return {
        kind: [
            (m.field.label, f"custom_fields.{m.field.name}", google_place(m), DIRECTIONS[m.direction])
            for m in mapping.of(kind)
        ]
        for kind in Kind
    }
