"""An update keeps what crmsync does not model exactly as Google had it.

A Person field is written whole (People replaces every item of a masked field), but
crmsync's canonical contact models only part of it: no phonetic names, PO box,
extended address, country name or job description, one type vocabulary (``fax`` for
Google's ``homeFax``/``workFax``), and a phone's comparison form rather than what was
typed. So an update is laid over the contact as Google holds it: items whose
canonical value did not change are sent back untouched (their type too, unless the
canonical type changed), a changed singleton (name, organisation, note, birthday)
keeps its unmodelled sub-fields, an edited address keeps its PO box and extended
address, and only what the user changed on the other side differs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..model.contact import canonical_contact, canonical_type
from .people_mapping import person_to_raw
from .people_models import Person

# Person field -> the sub-fields crmsync models (replaced) and those Google derives (dropped
# when the item changes, so Google recomputes them).
MODELLED: dict[str, tuple[str, ...]] = {
    "names": ("givenName", "middleName", "familyName", "honorificPrefix", "honorificSuffix"),
    "organizations": ("name", "title", "department"),
    "biographies": ("value", "contentType"),
    "birthdays": ("date",),
    "addresses": ("type", "streetAddress", "city", "region", "postalCode", "countryCode", "country"),
}
DERIVED: dict[str, tuple[str, ...]] = {
    "names": ("displayName", "displayNameLastFirst", "unstructuredName"),
    "birthdays": ("text",),
    "addresses": ("formattedValue", "formattedType"),
    "emailAddresses": ("formattedType",),
    "phoneNumbers": ("formattedType", "canonicalForm"),
    "urls": ("formattedType",),
}
KEYED = {"emailAddresses": "emails", "phoneNumbers": "phones", "urls": "urls", "addresses": "addresses"}


def _primary(items: Sequence[Mapping[str, Any]]) -> int | None:
    if not items:
        return None
    return next((i for i, it in enumerate(items) if (it.get("metadata") or {}).get("primary")), 0)


def _entry(field: str, item: Mapping[str, Any], region: str) -> dict[str, Any] | None:
    """The canonical entry one raw Google item stands for (None if it cannot be read)."""
    try:
        raw = person_to_raw(Person.model_validate({field: [item]}))
        entries = canonical_contact(raw, default_region=region)[KEYED[field]]
    except (ValueError, TypeError, KeyError):
        return None
    return entries[0] if entries else None


def _without(item: Mapping[str, Any], keys: Sequence[str]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k not in keys}


def _singleton(field: str, fresh: list[dict[str, Any]], current: list[dict[str, Any]]) -> list[dict[str, Any]]:
    at = _primary(current)
    if at is None or not fresh:
        return fresh if at is None else [c for i, c in enumerate(current) if i != at]
    kept = _without(current[at], MODELLED[field] + DERIVED.get(field, ()))
    return [*current[:at], {**kept, **fresh[0]}, *current[at + 1 :]]


def _keyed(
    field: str,
    fresh: list[dict[str, Any]],
    canon_items: list[dict[str, Any]],
    current: list[dict[str, Any]],
    region: str,
) -> list[dict[str, Any]]:
    canon_field = KEYED[field]
    old = [(item, _entry(field, item, region)) for item in current]
    used: set[int] = set()
    placed: dict[int, dict[str, Any]] = {}  # index in ``current`` -> item sent
    added: list[dict[str, Any]] = []
    pending: list[tuple[dict[str, Any], dict[str, Any]]] = []
    for new, want in zip(fresh, canon_items, strict=True):
        hit = next((i for i, (_, e) in enumerate(old) if i not in used and e and e["value"] == want["value"]), None)
        if hit is None:
            pending.append((new, want))
            continue
        used.add(hit)
        item, entry = old[hit]
        assert entry is not None
        same_type = canonical_type(canon_field, item.get("type")) == want["type"]
        placed[hit] = (
            item if same_type else {**_without(item, ("type", *DERIVED.get(field, ()))), "type": new.get("type")}
        )
    for new, want in pending:
        # An edited address keeps the parts crmsync does not model (PO box, extended address)
        # from the one unmatched old address of its type, if there is exactly one.
        twins = [
            i
            for i, (item, _) in enumerate(old)
            if field == "addresses" and i not in used and canonical_type(canon_field, item.get("type")) == want["type"]
        ]
        if len(twins) == 1:
            used.add(twins[0])
            was = old[twins[0]][0]
            base = _without(was, MODELLED[field] + DERIVED[field])
            if was.get("country") and new.get("countryCode") and new.get("countryCode") == was.get("countryCode"):
                base["country"] = was["country"]  # the country's name beside its unchanged code
            placed[twins[0]] = {**base, **new}
        else:
            added.append(new)
    return [placed[i] for i in sorted(placed)] + added


def preserve(
    field: str, fresh: list[dict[str, Any]], canon: Mapping[str, Any], current: Mapping[str, Any], region: str
) -> list[dict[str, Any]]:
    """The items to send for Person ``field``: ``fresh`` (built from the merged canonical
    record) laid over ``current`` (the Person as Google holds it)."""
    items = [dict(i) for i in current.get(field) or []]
    if field in KEYED:
        return _keyed(field, fresh, list(canon.get(KEYED[field]) or []), items, region)
    if field in MODELLED:
        return _singleton(field, fresh, items)
    return fresh
