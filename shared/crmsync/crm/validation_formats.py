"""Field formats of CRM records: the error type and its JSON Pointer, e-mails, time zones, dates and instants."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

_EMAIL = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"
)
_LOCAL_DT = "%Y-%m-%dT%H:%M:%S"


@dataclass(frozen=True)
class FieldError:
    """One validation error: a JSON Pointer into the request body and a message."""

    path: str
    message: str


def pointer(loc: tuple[str | int, ...] | list[str | int]) -> str:
    """JSON Pointer (RFC 6901) for a location tuple."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in loc)


_ZONES: set[str] | None = None


def is_time_zone(name: str) -> bool:
    """True for an IANA time zone name that this machine's tz database knows."""
    global _ZONES
    if _ZONES is None:
        _ZONES = available_timezones()
    if name in _ZONES or name == "UTC":
        return True
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return "/" in name


def is_email(value: str) -> bool:
    """Pragmatic addr-spec check: local@domain with a dotted domain; surrounding spaces are tolerated."""
    value = value.strip()
    return len(value) <= 254 and _EMAIL.match(value) is not None


def parse_local_datetime(value: str) -> datetime | None:
    """A wall-clock date-time without offset (``2026-10-19T09:00:00``), or None."""
    try:
        return datetime.strptime(value, _LOCAL_DT)
    except ValueError:
        return None


def parse_date(value: str) -> date | None:
    """A calendar date (``2026-12-24``), or None."""
    try:
        return date.fromisoformat(value) if len(value) == 10 else None
    except ValueError:
        return None


def parse_instant(value: str) -> datetime | None:
    """An RFC 3339 date-time with offset (``2026-11-25T16:30:00+01:00`` or ``...Z``), or None."""
    if len(value) < 20 or "T" not in value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None
