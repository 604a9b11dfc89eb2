"""Wall-clock times as canonical events hold them: a local date-time plus an IANA zone, or a date."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from . import normalise as n

LOCAL_FMT = "%Y-%m-%dT%H:%M:%S"
BASIC_FMT = "%Y%m%dT%H%M%S"  # iCalendar's basic form (RRULE UNTIL, EXDATE, RDATE)


def zone(name: str) -> ZoneInfo:
    """A ZoneInfo, or InvalidValue naming the bad zone."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as err:
        raise n.InvalidValue("start", f"{name!r} is not an IANA time zone (e.g. 'Europe/Berlin')") from err


def parse_local(value: str) -> datetime:
    """A naive wall-clock datetime from ``YYYY-MM-DDTHH:MM:SS``."""
    try:
        return datetime.strptime(value[:19], LOCAL_FMT)
    except ValueError as err:
        raise n.InvalidValue("start", f"{value!r} is not a local date-time YYYY-MM-DDTHH:MM:SS") from err


def instant(when: Mapping[str, Any]) -> datetime:
    """The UTC instant a canonical time stands for (midnight UTC for a date)."""
    if "date" in when:
        d = date.fromisoformat(when["date"])
        return datetime(d.year, d.month, d.day, tzinfo=UTC)
    return parse_local(when["local"]).replace(tzinfo=zone(when["tz"])).astimezone(UTC)
