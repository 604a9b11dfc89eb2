"""People API resource rules: field masks, input validation and the fields Google derives.

The field lists and each field item's writable keys come from the discovery
document shipped in google-api-python-client, so the emulator accepts exactly
what the real API accepts and never emits a key the schema does not know.
"""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path
from typing import Any

import googleapiclient
import phonenumbers

from .core import ApiError, Ctx, parse_query

_DOC = Path(googleapiclient.__file__).parent / "discovery_cache" / "documents" / "people.v1.json"
MASK_DOCS = "Valid paths are documented at https://developers.google.com/people/api/rest/v1/people/get."


@functools.cache
def _schemas() -> dict[str, Any]:
    return json.loads(_DOC.read_text())["schemas"]  # type: ignore[no-any-return]


def _person_props() -> dict[str, Any]:
    return _schemas()["Person"]["properties"]  # type: ignore[no-any-return]


# Every value accepted in personFields / readMask (Google's documented list).
READ_FIELDS = frozenset(
    [
        "addresses",
        "ageRanges",
        "biographies",
        "birthdays",
        "calendarUrls",
        "clientData",
        "coverPhotos",
        "emailAddresses",
        "events",
        "externalIds",
        "genders",
        "imClients",
        "interests",
        "locales",
        "locations",
        "memberships",
        "metadata",
        "miscKeywords",
        "names",
        "nicknames",
        "occupations",
        "organizations",
        "phoneNumbers",
        "photos",
        "relations",
        "sipAddresses",
        "skills",
        "urls",
        "userDefined",
    ]
)
# Every value accepted in updatePersonFields / updateMask.
UPDATE_FIELDS = frozenset(
    [
        "addresses",
        "biographies",
        "birthdays",
        "calendarUrls",
        "clientData",
        "emailAddresses",
        "events",
        "externalIds",
        "genders",
        "imClients",
        "interests",
        "locales",
        "locations",
        "memberships",
        "miscKeywords",
        "names",
        "nicknames",
        "occupations",
        "organizations",
        "phoneNumbers",
        "relations",
        "sipAddresses",
        "urls",
        "userDefined",
    ]
)
SINGLETONS = ("names", "biographies", "birthdays", "genders")
# Field order in responses (Google's own order).
FIELD_ORDER = [f for f in _person_props() if f in READ_FIELDS and f != "metadata"]


@functools.cache
def item_keys(field: str) -> tuple[frozenset[str], frozenset[str]]:
    """(writable keys, read-only keys) of one item of the Person array ``field``."""
    ref = _person_props()[field]["items"]["$ref"]
    props = _schemas()[ref]["properties"]
    read_only = frozenset(k for k, v in props.items() if v.get("readOnly") or k == "metadata")
    return frozenset(props) - read_only, read_only


def parse_mask(value: str | None, name: str, allowed: frozenset[str], *, required: bool) -> list[str] | None:
    """Parse a comma-separated field mask; 400 naming the bad path, or when required and missing."""
    if value is None or not value.strip():
        if required:
            raise ApiError(400, f"{name} mask is required. Please specify one or more valid paths. {MASK_DOCS}")
        return None
    paths: list[str] = []
    for raw in value.split(","):
        path = raw.strip()
        if path.startswith("person."):
            path = path[len("person.") :]
        if path not in allowed:
            raise ApiError(400, f'Invalid {name} mask path: "{raw.strip()}". {MASK_DOCS}')
        if path not in paths:
            paths.append(path)
    return paths


# --------------------------------------------------------------------------- derived, read-only values

_TYPE_LABELS = {
    "homeFax": "Home Fax",
    "workFax": "Work Fax",
    "otherFax": "Other Fax",
    "workMobile": "Work Mobile",
    "workPager": "Work Pager",
    "googleVoice": "Google Voice",
    "homePage": "Home Page",
    "appInstallPage": "App Install Page",
    "domainContact": "Domain Contact",
}
_GENDERS = {"male": "Male", "female": "Female", "unspecified": "Unspecified"}
_FORMATTED_TYPE_FIELDS = frozenset(
    [
        "emailAddresses",
        "phoneNumbers",
        "addresses",
        "urls",
        "organizations",
        "events",
        "relations",
        "imClients",
        "sipAddresses",
        "calendarUrls",
        "externalIds",
    ]
)


@functools.lru_cache(maxsize=4096)
def formatted_type(value: str) -> str:
    """Google's display label of a field type: well-known types are title-cased, custom ones kept."""
    if value in _TYPE_LABELS:
        return _TYPE_LABELS[value]
    if value.isascii() and value.isalpha() and value[:1].islower():
        return value[:1].upper() + "".join(" " + c if c.isupper() else c for c in value[1:])
    return value


_PLAIN_INTERNATIONAL = re.compile(r"\+[1-9][\d .-]{6,20}")


@functools.lru_cache(maxsize=65536)
def canonical_phone(value: str, region: str) -> str | None:
    """E.164 form of a phone number when it parses as a valid number, else None."""
    if _PLAIN_INTERNATIONAL.fullmatch(value):
        # Fast path (seeding 10,000 contacts): "+<country><digits>" with plain separators is already E.164.
        digits = re.sub(r"\D", "", value)
        if 8 <= len(digits) <= 15:
            return "+" + digits
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


def _derive_name(item: dict[str, Any]) -> None:
    parts = ("honorificPrefix", "givenName", "middleName", "familyName", "honorificSuffix")
    if not any(item.get(p) for p in parts) and item.get("unstructuredName"):
        # Google splits an unstructured name into given and family names.
        words = item["unstructuredName"].split()
        if len(words) == 1:
            item["givenName"] = words[0]
        else:
            item["givenName"], item["familyName"] = " ".join(words[:-1]), words[-1]
    display = " ".join(item[p] for p in parts if item.get(p))
    if display:
        item["displayName"] = display
        first = " ".join(item[p] for p in ("honorificPrefix", "givenName", "middleName") if item.get(p))
        last = " ".join(item[p] for p in ("familyName", "honorificSuffix") if item.get(p))
        item["displayNameLastFirst"] = ", ".join(x for x in (last, first) if x)
        item.setdefault("unstructuredName", display)


def _derive_address(item: dict[str, Any]) -> None:
    if item.get("formattedValue"):
        return
    city_line = " ".join(item[p] for p in ("city", "region", "postalCode") if item.get(p))
    lines = [item.get("poBox"), item.get("streetAddress"), item.get("extendedAddress"), city_line, item.get("country")]
    text = "\n".join(x for x in lines if x)
    if text:
        item["formattedValue"] = text


def derive(field: str, item: dict[str, Any], region: str) -> None:
    """Add the read-only values Google computes for one field item (in place)."""
    if field == "names":
        _derive_name(item)
    elif field == "addresses":
        _derive_address(item)
    elif field == "phoneNumbers" and item.get("value"):
        canon = canonical_phone(item["value"], region)
        if canon:
            item["canonicalForm"] = canon
    elif field == "genders" and item.get("value"):
        item["formattedValue"] = _GENDERS.get(item["value"], item["value"])
    if field in _FORMATTED_TYPE_FIELDS and item.get("type"):
        item["formattedType"] = formatted_type(item["type"])


# --------------------------------------------------------------------------- input


def clean_person(
    body: dict[str, Any], fields: list[str] | None, where: str = "person"
) -> dict[str, list[dict[str, Any]]]:
    """Validate a Person from a request and return its writable field items.

    Unknown keys are a 400 like Google's JSON parser answers; read-only keys
    (derived values, metadata) are dropped; only ``fields`` are taken when given.
    Memberships are returned raw (the store checks the groups).
    """
    props = _person_props()
    out: dict[str, list[dict[str, Any]]] = {}
    for key, value in body.items():
        if key not in props:
            raise ApiError(
                400, f"Invalid JSON payload received. Unknown name \"{key}\" at '{where}': Cannot find field."
            )
        if key in ("resourceName", "etag", "metadata") or key not in UPDATE_FIELDS:
            continue
        if fields is not None and key not in fields:
            continue
        if not isinstance(value, list):
            raise ApiError(400, f"Invalid value at '{where}.{key}': expected a list of objects.")
        writable, read_only = item_keys(key)
        items: list[dict[str, Any]] = []
        for i, item in enumerate(value):
            if not isinstance(item, dict):
                raise ApiError(400, f"Invalid value at '{where}.{key}[{i}]': expected an object.")
            kept: dict[str, Any] = {}
            for k, v in item.items():
                if k in writable:
                    if v not in (None, "", [], {}):
                        kept[k] = v
                elif k not in read_only:
                    raise ApiError(
                        400,
                        f"Invalid JSON payload received. Unknown name \"{k}\" at '{where}.{key}[{i}]': Cannot find field.",
                    )
            if kept:
                if (item.get("metadata") or {}).get("sourcePrimary"):
                    kept["_primary"] = True
                items.append(kept)
        if key in SINGLETONS and len(items) > 1:
            raise ApiError(
                400, f"Invalid {where}.{key}: a contact can have at most one value in {key} (got {len(items)})."
            )
        out[key] = items
    return out


def finish_items(field: str, items: list[dict[str, Any]], source: dict[str, str], region: str) -> list[dict[str, Any]]:
    """Stored items of ``field``: derived values plus Google's field metadata (primary first)."""
    primary = 0
    for i, it in enumerate(items):
        if "_primary" in it:
            primary = i
            break
    plain = {"source": source}
    result: list[dict[str, Any]] = []
    for i, raw in enumerate(items):
        item = {"metadata": {"primary": True, "source": source, "sourcePrimary": True} if i == primary else plain}
        item.update(raw)
        item.pop("_primary", None)
        derive(field, item, region)
        result.append(item)
    return result


def long_get(ctx: Ctx) -> None:
    """Accept a GET sent as POST with X-HTTP-Method-Override (googleapiclient does so past 2,000 URL chars)."""
    if ctx.method == "POST":
        if ctx.headers.get("x-http-method-override", "").upper() != "GET":
            raise ApiError(404, f"Method not found: POST {ctx.path}")
        for name, values in parse_query(ctx.body.decode()).items():
            ctx.query.setdefault(name, []).extend(values)
