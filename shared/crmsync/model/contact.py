"""The canonical contact: the one shape both sides are compared in.

Adapters turn a CRM record or a Google Person into a *raw* dict with these
keys and call ``canonical_contact``; the reverse mappings read canonical
values. Field names here are the ones the field mapping and the
"never overwrite" settings refer to.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any

from . import normalise as n
from .link import Canon

SCALAR_FIELDS = ("given", "middle", "family", "prefix", "suffix", "company", "title", "department", "notes", "birthday")
# Multi-valued fields merged as maps keyed by value (the type is the payload).
KEYED_FIELDS = ("emails", "phones", "urls", "addresses")
SET_FIELDS = ("groups",)
CONTACT_FIELDS = SCALAR_FIELDS + KEYED_FIELDS + SET_FIELDS
ADDRESS_PARTS = ("street", "city", "region", "postal_code", "country")

# The canonical type vocabulary of each typed field (the CRM contract's), and how
# other labels (Google's workMobile, homeFax, ...) fold into it, so a type never
# differs between the sides only because of vocabulary.
TYPE_VOCAB: dict[str, frozenset[str]] = {
    "emails": frozenset({"work", "home", "other"}),
    "phones": frozenset({"work", "home", "mobile", "fax", "other"}),
    "urls": frozenset({"work", "home", "profile", "other"}),
    "addresses": frozenset({"work", "home", "other"}),
}
TYPE_ALIASES = {
    "workmobile": "mobile",
    "cell": "mobile",
    "main": "work",
    "homefax": "fax",
    "workfax": "fax",
    "otherfax": "fax",
    "homepage": "home",
    "blog": "profile",
    "business": "work",
    "office": "work",
    "private": "home",
    "personal": "home",
}


def canonical_type(field: str, raw_type: Any) -> str:
    """A type label folded into the field's canonical vocabulary ("other" if unknown)."""
    label = n.label(raw_type).replace("_", "")
    label = TYPE_ALIASES.get(label, label)
    return label if label in TYPE_VOCAB[field] else "other"


def _typed(field: str, items: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    return [{**item, "type": canonical_type(field, item.get("type"))} for item in items or []]


def _address_key(addr: Mapping[str, Any]) -> str:
    return " | ".join(n.text(addr.get(p)) or "" for p in ADDRESS_PARTS)


def _addresses(items: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    seen: dict[str, dict[str, Any]] = {}
    for item in items or []:
        parts = {p: n.text(item.get(p)) for p in ADDRESS_PARTS}
        if parts.get("country"):
            parts["country"] = str(parts["country"]).upper()
        if not any(parts.values()):
            continue
        key = _address_key(parts)
        seen.setdefault(key, {"value": key, "type": canonical_type("addresses", item.get("type")), **parts})
    return [seen[k] for k in sorted(seen)]


def _birthday(value: Mapping[str, Any] | None) -> dict[str, int] | None:
    if not value or not value.get("month") or not value.get("day"):
        return None
    out = {"month": int(value["month"]), "day": int(value["day"])}
    if value.get("year"):
        out["year"] = int(value["year"])
    return out


def canonical_contact(raw: Mapping[str, Any], *, default_region: str = "US") -> Canon:
    """Canonical form of a raw contact dict; raises ``normalise.InvalidValue`` for
    values that cannot be synced (e.g. a malformed e-mail)."""
    canon: Canon = {
        "given": n.text(raw.get("given")),
        "middle": n.text(raw.get("middle")),
        "family": n.text(raw.get("family")),
        "prefix": n.text(raw.get("prefix")),
        "suffix": n.text(raw.get("suffix")),
        "company": n.text(raw.get("company")),
        "title": n.text(raw.get("title")),
        "department": n.text(raw.get("department")),
        "notes": n.multiline(raw.get("notes")),
        "birthday": _birthday(raw.get("birthday")),
        # Strict here (unlike event attendees): an e-mail is a contact's first-sync match key, and a
        # contact matched by an address the CRM cannot hold would be copied again after a relink.
        "emails": n.typed_values(_typed("emails", raw.get("emails")), n.email),
        "phones": n.typed_values(_typed("phones", raw.get("phones")), partial(n.phone, default_region=default_region)),
        "urls": n.typed_values(_typed("urls", raw.get("urls")), n.text),
        "addresses": _addresses(raw.get("addresses")),
        "groups": sorted({g for g in (n.text(x) for x in raw.get("groups") or []) if g}),
    }
    return canon


def match_keys(canon: Canon) -> tuple[list[str], list[str]]:
    """First-sync match keys: normalised e-mails, then phones (E.164 only)."""
    emails = [e["value"] for e in canon.get("emails") or []]
    phones = [p["value"] for p in canon.get("phones") or [] if str(p["value"]).startswith("+")]
    return emails, phones


def display_name(canon: Canon) -> str:
    """A short human label for reports ("Anna Schmidt", or the first e-mail)."""
    name = " ".join(x for x in (canon.get("given"), canon.get("family")) if x)
    if name:
        return name
    emails = canon.get("emails") or []
    return str(emails[0]["value"]) if emails else "(no name)"
