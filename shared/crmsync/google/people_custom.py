"""CRM custom fields in a Google Person: read from and written into the fields the admin maps them to.

Targets (``model.field_mapping.Target``): a ``userDefined`` key/value pair (by key), an
``externalIds`` / ``relations`` / ``events`` item (by type; an event holds a date), and the first
``nicknames`` / ``occupations`` item. A write replaces only the items the mapping claims: every
other item of the field (a ``userDefined`` pair the user added, another external id) is sent back
as Google holds it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ..model import custom
from ..model.field_mapping import FieldMap, MappedFields, Target
from ..model.link import Canon

# Person fields that hold custom values: always read (a mapping change never changes the read
# mask, which would invalidate every sync token).
CUSTOM_PERSON_FIELDS = ("events", "externalIds", "nicknames", "occupations", "relations", "userDefined")
_KEY_OF = {Target.USER_DEFINED: "key", Target.EXTERNAL_ID: "type", Target.RELATION: "type", Target.EVENT: "type"}
_VALUE_OF = {Target.RELATION: "person", Target.EVENT: "date"}


def _claims(m: FieldMap, item: Mapping[str, Any], index: int) -> bool:
    """Whether Person item ``item`` (at ``index`` in its field) is the one ``m`` maps."""
    key = _KEY_OF.get(m.target)
    if key is None:  # nicknames, occupations: the first item
        return index == 0
    return str(item.get(key) or "").casefold() == str(m.key).casefold()


def _text(m: FieldMap, item: Mapping[str, Any]) -> Any:
    value = item.get(_VALUE_OF.get(m.target, "value"))
    if m.target is Target.EVENT:
        if not isinstance(value, Mapping) or not value.get("month") or not value.get("day"):
            return None
        year = f"{int(value['year']):04d}" if value.get("year") else "-"
        return f"{year}-{int(value['month']):02d}-{int(value['day']):02d}"
    return value


def read(person: Mapping[str, Any], mapped: MappedFields) -> Canon:
    """The canonical custom entries of a Person (raw JSON) for the mapped fields."""
    if not mapped:
        return {}
    values: dict[str, Any] = {}
    for m in mapped.maps:
        items = person.get(m.target.value) or []
        hit = next((it for i, it in enumerate(items) if isinstance(it, Mapping) and _claims(m, it, i)), None)
        values[m.field.name] = _text(m, hit) if hit is not None else None
    return custom.canon_values(mapped.fields, values, lenient=True)


def person_fields(canon_fields: Iterable[str], mapped: MappedFields) -> set[str]:
    """The Person fields holding the given canonical custom fields."""
    by_key = {custom.key(m.field.name): m.target.value for m in mapped.maps}
    return {by_key[f] for f in canon_fields if f in by_key}


def _item(m: FieldMap, value: Any) -> dict[str, Any]:
    if m.target is Target.EVENT:
        year, month, day = (int(p) for p in str(value).split("-"))
        return {"date": {"year": year, "month": month, "day": day}, "type": m.key}
    text = custom.as_text(m.field, value)
    if m.target is Target.USER_DEFINED:
        return {"key": m.key, "value": text}
    if m.target is Target.RELATION:
        return {"person": text, "type": m.key}
    if m.target is Target.EXTERNAL_ID:
        return {"value": text, "type": m.key}
    return {"value": text}


def items(field: str, canon: Canon, mapped: MappedFields, current: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The items to send for Person ``field``: ``current`` (as Google holds it) with the items the
    mapping claims set from ``canon`` (removed when empty); fields Google keeps (``google_to_crm``)
    and items nobody maps are sent back untouched."""
    out = [dict(i) for i in current if isinstance(i, Mapping)]
    keep = mapped.kept_by(into_crm=False)
    for m in mapped.maps:
        canon_key = custom.key(m.field.name)
        if m.target.value != field or canon_key in keep or canon_key not in canon:
            continue
        at = next((i for i, it in enumerate(out) if _claims(m, it, i)), None)
        value = canon[canon_key]
        if value is None:
            if at is not None:
                del out[at]
            continue
        try:
            new = _item(m, value)
        except ValueError:  # text in a date field (only from a CRM off its own contract): left as it is
            continue
        if at is None:
            out.insert(0, new) if m.target in (Target.NICKNAME, Target.OCCUPATION) else out.append(new)
        else:
            kept = {k: v for k, v in out[at].items() if k == "metadata" or k not in new}
            out[at] = {**kept, **new}
    return out
