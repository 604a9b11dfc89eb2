"""CRM custom fields of activities in a Google Calendar event: its extended properties, its
colour and its transparency.

A mapped field is one key of ``extendedProperties.private`` (this calendar's copy only) or
``.shared`` (every attendee's copy), holding the value as text. Calendar's patch leaves the other
keys alone and deletes a key sent as null, so a write names only the mapped keys it changes.

``colorId`` and ``transparency`` take one of a fixed set of values (``field_mapping.CHOICES``). A
value outside it (a CRM string field holding "purple") is never sent: the write leaves the field
as Google holds it, the link records Google's value as its stand-in (what the write answers), and
the run's notes name the field and the value (``refused``). Emptying the field clears the colour
(the calendar's own colour again) or makes the event opaque (busy), Calendar's default.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from ..model import custom
from ..model.field_mapping import CHOICES, FieldMap, MappedFields, Target
from ..model.link import Canon
from ..ports import WriteOp, WriteResult

Event = dict[str, Any]
SCOPE = {Target.PRIVATE_PROPERTY: "private", Target.SHARED_PROPERTY: "shared"}


def read(event: Mapping[str, Any], mapped: MappedFields) -> Canon:
    """The canonical custom entries of an event (its master) for the mapped fields."""
    if not mapped:
        return {}
    props = event.get("extendedProperties") or {}
    values = {
        m.field.name: (props.get(SCOPE[m.target]) or {}).get(str(m.key)) for m in mapped.maps if m.target in SCOPE
    }
    values.update({m.field.name: event.get(m.target.value) for m in mapped.maps if m.target in CHOICES})
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


def _valid(m: FieldMap, value: Any) -> bool:
    return value is None or custom.as_text(m.field, value) in CHOICES[m.target]


def choices(fields: Canon, mapped: MappedFields) -> Event:
    """The event fields (``colorId``, ``transparency``) to send for the changed canonical
    ``fields``: values Calendar takes only (see ``refused``); fields Google keeps are left out."""
    keep = mapped.kept_by(into_crm=False)
    out: Event = {}
    for m in mapped.maps:
        canon_key = custom.key(m.field.name)
        if m.target in CHOICES and canon_key in fields and canon_key not in keep and _valid(m, fields[canon_key]):
            text = custom.as_text(m.field, fields[canon_key])
            out[m.target.value] = "opaque" if text is None and m.target is Target.TRANSPARENCY else text
    return out


def refused(fields: Canon, mapped: MappedFields) -> dict[str, str]:
    """Per canonical key of ``fields`` whose value Calendar cannot hold in its mapped field (left
    out of the write), the note that says so."""
    keep = mapped.kept_by(into_crm=False)
    out: dict[str, str] = {}
    for m in mapped.maps:
        canon_key = custom.key(m.field.name)
        if m.target in CHOICES and canon_key in fields and canon_key not in keep and not _valid(m, fields[canon_key]):
            allowed = ", ".join(CHOICES[m.target])
            out[canon_key] = (
                f"{canon_key} {fields[canon_key]!r} kept out of Google: {m.target.value} takes one of {allowed}"
            )
    return out


def holding_refused(
    results: list[WriteResult],
    ops: Sequence[WriteOp],
    mapped: MappedFields,
    current: Callable[[list[str]], Mapping[str, Canon]],
    *,
    create: bool,
) -> list[WriteResult]:
    """``results`` of writes that left out values Calendar cannot hold (``refused``): each carries
    its notes, and the record Google holds with its own value of those fields (from the write's
    answer, else read again with ``current``: Google id -> canonical record), so the link keeps
    Google's value as its stand-in."""
    if not any(m.target in CHOICES for m in mapped.maps):
        return results
    noted = [
        refused(op.full if create else op.fields, mapped) if res.ok else {}
        for op, res in zip(ops, results, strict=True)
    ]
    unknown = [str(res.id) for res, notes in zip(results, noted, strict=True) if notes and res.canon is None and res.id]
    found = current(unknown) if unknown else {}
    out = []
    for op, res, notes in zip(ops, results, noted, strict=True):
        if not notes:
            out.append(res)
            continue
        canon = res.canon
        if canon is None and str(res.id) in found:
            canon = {**op.full, **{k: found[str(res.id)].get(k) for k in notes}}
        out.append(replace(res, canon=canon, notes=(*res.notes, *notes.values())))
    return out
