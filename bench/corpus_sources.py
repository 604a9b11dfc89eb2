"""Real-world calendars and address books for the corpus run (issue 12), read into the JSON the
Google APIs take: events for ``events.insert`` and Persons for ``people.createContact``.

Sources: the calendars of the installed ``icalendar`` package's test suite (BSD-2-Clause), and
vCards from the ``vobject`` (Apache-2.0) and ``khard`` (GPL-3.0) source distributions on PyPI,
fetched with pip into a cache folder (they are read as data, never shipped or imported).
"""

from __future__ import annotations

import re
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import icalendar

CACHE = Path(__file__).resolve().parents[1] / ".cache" / "corpus"
VCARD_SOURCES = (("vobject", "0.9.8", "Apache-2.0"), ("khard", "0.21.0", "GPL-3.0"))


@dataclass
class Item:
    """One record to import: where it came from, and the body for the Google API (or why not)."""

    source: str
    body: dict[str, Any] | None
    reason: str | None = None  # why it cannot be imported into Google at all


# ----------------------------------------------------------------------------- calendars


def calendar_files() -> list[Path]:
    """Every .ics file of the installed icalendar package's tests, sorted."""
    root = Path(icalendar.__file__).parent / "tests"
    return sorted(root.rglob("*.ics"))


def _when(value: date | datetime) -> dict[str, str]:
    if not isinstance(value, datetime):
        return {"date": value.isoformat()}
    tz = value.tzinfo
    name = getattr(tz, "key", None) or getattr(tz, "zone", None)
    if tz is None:  # floating: wall-clock time, kept in UTC
        return {"dateTime": value.strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"}
    if name:
        try:
            ZoneInfo(str(name))
            return {"dateTime": value.isoformat(), "timeZone": str(name)}
        except (KeyError, ValueError):
            pass
    return {"dateTime": value.astimezone(ZoneInfo("UTC")).isoformat(), "timeZone": "UTC"}


_REC = re.compile(r"^(RRULE|RDATE|EXDATE|EXRULE)[;:]", re.I)


def _recurrence(event: icalendar.cal.Component) -> list[str]:
    text = event.to_ical().decode("utf-8", "replace").replace("\r\n ", "").replace("\r\n\t", "")
    return [line for line in text.split("\r\n") if _REC.match(line)]


def _text(event: icalendar.cal.Component, name: str) -> str | None:
    value = event.get(name)
    return str(value) if value is not None else None


def event_body(event: icalendar.cal.Component) -> dict[str, Any]:
    """The events.insert body of one VEVENT (a series' master or a single event)."""
    start = event.decoded("DTSTART")
    if "DTEND" in event:
        end = event.decoded("DTEND")
    elif "DURATION" in event:
        end = start + event.decoded("DURATION")
    else:
        end = start + timedelta(days=1) if not isinstance(start, datetime) else start
    body: dict[str, Any] = {"start": _when(start), "end": _when(end)}
    for key, prop in (("summary", "SUMMARY"), ("description", "DESCRIPTION"), ("location", "LOCATION")):
        if (value := _text(event, prop)) is not None:
            body[key] = value
    if recurrence := _recurrence(event):
        body["recurrence"] = recurrence
    attendees = event.get("ATTENDEE")
    attendees = attendees if isinstance(attendees, list) else [attendees] if attendees else []
    emails = [str(a)[7:] for a in attendees if str(a).lower().startswith("mailto:")]
    if emails:
        body["attendees"] = [{"email": e} for e in emails]
    if str(event.get("CLASS", "")).upper() in ("PRIVATE", "CONFIDENTIAL"):
        body["visibility"] = "private"
    return body


def calendar_items(files: list[Path] | None = None) -> Iterator[Item]:
    """Every VEVENT of ``files`` that is not a moved occurrence, as an Item."""
    for path in files if files is not None else calendar_files():
        where = f"icalendar:{path.name}"
        try:
            cal = icalendar.Calendar.from_ical(path.read_bytes())
            events = [c for c in cal.walk("VEVENT") if "RECURRENCE-ID" not in c]
        except Exception as err:  # a file the parser itself refuses (fuzz cases, broken on purpose)
            yield Item(where, None, f"the file does not parse ({type(err).__name__})")
            continue
        for i, event in enumerate(events):
            source = f"{where}#{i}"
            try:
                yield Item(source, event_body(event))
            except Exception as err:
                yield Item(source, None, f"the event does not read ({type(err).__name__}: {err})")


# ----------------------------------------------------------------------------- vCards


def fetch_vcard_sources(cache: Path = CACHE) -> list[tuple[str, str, Path]]:
    """The source distributions holding vCards, downloaded once with pip: (name, licence, tarball)."""
    cache.mkdir(parents=True, exist_ok=True)
    out = []
    for name, version, licence in VCARD_SOURCES:
        tarball = cache / f"{name}-{version}.tar.gz"
        if not tarball.exists():
            subprocess.run(
                [sys.executable, "-m", "pip", "download", f"{name}=={version}", "--no-deps", "--no-binary", ":all:",
                 "-q", "-d", str(cache)],
                check=True, capture_output=True, timeout=300,
            )  # fmt: skip
        out.append((name, licence, tarball))
    return out


def vcard_texts(sources: list[tuple[str, str, Path]]) -> Iterator[tuple[str, str]]:
    """(source, text) of every vCard in the tarballs' .vcf and .ics files."""
    for name, _licence, tarball in sources:
        with tarfile.open(tarball) as tar:
            for member in sorted(tar.getmembers(), key=lambda m: m.name):
                if not member.isfile() or not member.name.endswith((".vcf", ".ics")):
                    continue
                handle = tar.extractfile(member)
                text = handle.read().decode("utf-8", "replace") if handle else ""
                for i, card in enumerate(re.findall(r"BEGIN:VCARD.*?END:VCARD", text, re.S | re.I)):
                    yield f"{name}:{Path(member.name).name}#{i}", card


def _unfold(text: str) -> list[str]:
    return re.sub(r"\r?\n[ \t]", "", text).splitlines()


def _unescape(value: str) -> str:
    return re.sub(r"\\([\\;,nN])", lambda m: "\n" if m.group(1) in "nN" else m.group(1), value)


def _parts(value: str) -> list[str]:
    return [_unescape(p) for p in re.split(r"(?<!\\);", value)]


_TEL_TYPES = {"cell": "mobile", "mobile": "mobile", "work": "work", "home": "home", "fax": "homeFax", "pager": "pager"}


def _types(params: list[str]) -> list[str]:
    out = []
    for p in params:
        key, _, val = p.partition("=")
        vals = val if val else key
        out += [v.strip('"').lower() for v in vals.split(",")] if key.upper() in ("TYPE", vals.upper()) else []
    return out


def _type(params: list[str], field: str) -> str | None:
    types = _types(params)
    if field == "phoneNumbers":
        if "fax" in types:
            return "workFax" if "work" in types else "homeFax"
        return next((_TEL_TYPES[t] for t in types if t in _TEL_TYPES), None)
    return next((t for t in types if t in ("work", "home")), None)


def _birthday(value: str) -> dict[str, Any] | None:
    m = re.match(r"^(\d{4}|--)-?(\d{2})-?(\d{2})", value.strip())
    if not m:
        return None
    year = None if m.group(1) == "--" else int(m.group(1))
    return {"date": {k: v for k, v in (("year", year), ("month", int(m.group(2))), ("day", int(m.group(3)))) if v}}


def person_body(card: str) -> dict[str, Any]:
    """The Person for one vCard (the fields Google Contacts keeps; photos, keys and the like left out)."""
    person: dict[str, list[dict[str, Any]]] = {}
    for line in _unfold(card):
        head, sep, value = line.partition(":")
        if not sep:
            continue
        name, *params = head.split(";")
        name = name.split(".")[-1].upper()
        if any("QUOTED-PRINTABLE" in p.upper() for p in params):
            continue
        if name == "N":
            p = [*_parts(value), "", "", "", "", ""]
            keys = ("familyName", "givenName", "middleName", "honorificPrefix", "honorificSuffix")
            item = {k: v for k, v in zip(keys, p, strict=False) if v}
            if item:
                person["names"] = [item]
        elif name == "FN" and "names" not in person and value.strip():
            person["names"] = [{"unstructuredName": _unescape(value)}]
        elif name in ("EMAIL", "TEL", "URL"):
            field = {"EMAIL": "emailAddresses", "TEL": "phoneNumbers", "URL": "urls"}[name]
            text = _unescape(value).strip()
            text = text[4:] if name == "TEL" and text.lower().startswith("tel:") else text
            if text:
                item = {"value": text}
                if (kind := _type(params, field)) is not None:
                    item["type"] = kind
                person.setdefault(field, []).append(item)
        elif name == "ADR":
            p = [*_parts(value), "", "", "", "", "", "", ""]
            parts = ("poBox", "extendedAddress", "streetAddress", "city", "region", "postalCode", "country")
            item = {k: v for k, v in zip(parts, p, strict=False) if v}
            if item:
                if (kind := _type(params, "addresses")) is not None:
                    item["type"] = kind
                person.setdefault("addresses", []).append(item)
        elif name in ("ORG", "TITLE"):
            org = (person.setdefault("organizations", [{}]))[0]
            if name == "ORG":
                p = _parts(value)
                org["name"] = p[0]
                if len(p) > 1 and p[1]:
                    org["department"] = p[1]
            else:
                org["title"] = _unescape(value)
        elif name == "BDAY" and (day := _birthday(value)):
            person["birthdays"] = [day]
        elif name == "NOTE" and value.strip():
            person["biographies"] = [{"value": _unescape(value), "contentType": "TEXT_PLAIN"}]
    return {k: v for k, v in person.items() if v and v != [{}]}


def vcard_items(sources: list[tuple[str, str, Path]] | None = None) -> Iterator[Item]:
    """Every vCard of the sources as an Item."""
    for source, card in vcard_texts(sources if sources is not None else fetch_vcard_sources()):
        try:
            body = person_body(card)
        except Exception as err:
            yield Item(source, None, f"the vCard does not read ({type(err).__name__})")
            continue
        yield Item(source, body) if body else Item(source, None, "the vCard holds nothing Google Contacts keeps")
