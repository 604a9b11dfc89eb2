"""Contact values the CRM Sync API refuses as Google holds them, adapted where that loses
nothing (a URL without a scheme, a country given by name) and otherwise held back from the
CRM write (``held_values``), so one odd value never keeps the rest of a contact out of the CRM.
Every adaptation and every held value is named with its field and reason for the run's notes."""

from __future__ import annotations

import re
import unicodedata
from functools import cache
from typing import Any

from phonenumbers.geodata.locale import LOCALE_DATA

_CODE = re.compile(r"^[A-Za-z]{2}$")
_HOSTLIKE = re.compile(r"^[^\s/:@]+\.[^\s/:@]{2,}(?:[:/?#]\S*)?$")
# Common names no locale table spells as a country's name.
_ALIASES = {
    "usa": "US", "u.s.a.": "US", "u.s.": "US", "united states of america": "US", "america": "US",
    "uk": "GB", "u.k.": "GB", "great britain": "GB", "england": "GB", "scotland": "GB", "wales": "GB",
    "northern ireland": "GB", "holland": "NL", "the netherlands": "NL", "south korea": "KR", "korea": "KR",
    "russia": "RU", "czech republic": "CZ", "czechia": "CZ", "prc": "CN", "p.r. china": "CN", "uae": "AE",
}  # fmt: skip


def _fold(name: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", name).casefold().split())


@cache
def _countries() -> dict[str, str]:
    """Country name (any of the ~190 languages phonenumbers knows, case-folded) -> ISO code;
    names that stand for more than one code are left out."""
    found: dict[str, set[str]] = {}
    for code, names in LOCALE_DATA.items():
        if not _CODE.match(code):
            continue
        for value in names.values():
            name = names.get(value[1:], "") if value.startswith("*") else value
            if name and not name.startswith("*"):
                found.setdefault(_fold(name), set()).add(code.upper())
    out = {name: next(iter(codes)) for name, codes in found.items() if len(codes) == 1}
    out.update(_ALIASES)
    return out


def country_code(value: str) -> str | None:
    """The ISO 3166-1 alpha-2 code for a country code in any case or a country's name, else None."""
    text = value.strip()
    if _CODE.match(text):
        return text.upper()
    return _countries().get(_fold(text).rstrip("."))


def adapt(body: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """``body`` (a contact create or patch) with a scheme added to scheme-less web addresses and
    country names turned into codes; and a note per value adapted."""
    out, notes = dict(body), []
    urls = []
    for item in body.get("urls") or []:
        value = str(item.get("value") or "").strip()
        if value and "://" not in value and _HOSTLIKE.match(value):
            notes.append(f"urls: {value!r} is stored in the CRM as 'http://{value}' (the CRM needs a scheme)")
            item = {**item, "value": f"http://{value}"}
        urls.append(item)
    if "urls" in body:
        out["urls"] = urls
    addresses = []
    for item in body.get("addresses") or []:
        country = item.get("country")
        if isinstance(country, str) and country and not re.fullmatch(r"[A-Z]{2}", country):
            code = country_code(country)
            if code:
                if code != country.strip():
                    notes.append(f"addresses: country {country!r} is stored in the CRM as {code!r}")
                item = {**item, "country": code}
        addresses.append(item)
    if "addresses" in body:
        out["addresses"] = addresses
    return out, notes
