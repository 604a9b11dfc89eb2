"""CRM custom fields of tasks in Google Tasks: labelled lines at the end of the task's notes.

Google Tasks has no custom fields (a task holds a title, notes, a due date and a status), so a
mapped field is a line ``<label>: <value>`` in the notes, after the user's own text and a blank
line. Reading takes those lines out: the notes compared with the CRM's notes are the user's text
only, and each value is its field's. A line the user deletes in Google clears the field.
"""

from __future__ import annotations

from ..model import custom
from ..model import normalise as n
from ..model.field_mapping import MappedFields
from ..model.link import Canon


def _labels(mapped: MappedFields) -> dict[str, str]:
    return {str(m.key).casefold(): m.field.name for m in mapped.maps}


def split(notes: str | None, mapped: MappedFields) -> tuple[str | None, Canon]:
    """The user's own notes and the canonical custom entries found in ``notes``."""
    if not mapped:
        return notes, {}
    labels, values, rest = _labels(mapped), {}, []
    for line in (notes or "").replace("\r\n", "\n").split("\n"):
        label, sep, value = line.partition(":")
        name = labels.get(label.strip().casefold()) if sep else None
        if name is not None and name not in values:
            values[name] = value.strip()
        else:
            rest.append(line)
    return n.multiline("\n".join(rest)), custom.canon_values(mapped.fields, values, lenient=True)


def join(canon: Canon, mapped: MappedFields) -> str | None:
    """The notes Google holds for a canonical task: its notes, then a line per mapped value."""
    if not mapped:
        return canon.get("notes")
    lines = []
    for m in mapped.maps:
        text = custom.as_text(m.field, canon.get(custom.key(m.field.name)))
        if text is not None:
            lines.append(f"{m.key}: {' '.join(text.split())}")
    parts = [p for p in (canon.get("notes"), "\n".join(lines)) if p]
    return "\n\n".join(parts) or None


def touches_notes(fields: Canon, mapped: MappedFields) -> bool:
    """Whether a change of ``fields`` changes the notes Google holds."""
    return "notes" in fields or any(custom.key(m.field.name) in fields for m in mapped.maps)
