"""Recurrence (RRULE/EXRULE/EXDATE/RDATE) validation and expansion for Calendar events.

Timed series expand on zone-aware wall-clock datetimes in the event's own time
zone, so 09:00 Europe/Berlin stays 09:00 across a DST change; all-day series
expand by date. A start that is not on its rule is an occurrence all the same
(``off_rule``, realism.py): ``google`` adds it outside COUNT (Google's behaviour),
``rfc5545`` counts it as the first of COUNT (RFC 5545 3.3.10: "The DTSTART property
value always counts as the first occurrence"). Unbounded series are expanded up to a horizon (see
``horizon``): ``calendar_expansion_horizon_days`` in ``state.extras`` (default
1095 days, about three years, after the emulator clock's now or timeMin) and at
most ``MAX_INSTANCES`` occurrences per series and request.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from dateutil.rrule import rrule, rruleset, rrulestr

from .calendar_model import Span, check_zone, day_start, invalid, zone

MAX_INSTANCES = 10_000
DEFAULT_HORIZON_DAYS = 1095
_DATE = re.compile(r"^\d{8}$")
_UTC_DT = re.compile(r"^\d{8}T\d{6}Z$")
_LOCAL_DT = re.compile(r"^\d{8}T\d{6}$")


def horizon(extras: dict[str, Any], now: datetime) -> datetime:
    """The default end of an expansion when the request gives no timeMax."""
    return now + timedelta(days=int(extras.get("calendar_expansion_horizon_days", DEFAULT_HORIZON_DAYS)))


def _until(value: str, all_day: bool, span: Span) -> str:
    tz = zone(span.tz) or UTC
    if _DATE.match(value):
        if all_day:
            return value + "T235959"
        d = datetime.strptime(value, "%Y%m%d")
        return datetime.combine(d.date(), time(23, 59, 59), tz).astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    if _UTC_DT.match(value):
        return value[:8] + "T235959" if all_day else value
    if _LOCAL_DT.match(value):
        if all_day:
            return value
        return datetime.strptime(value, "%Y%m%dT%H%M%S").replace(tzinfo=tz).astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    raise invalid(f"Invalid recurrence rule: UNTIL={value!r} is not a date or date-time.")


def _rule(body: str, all_day: bool, span: Span, dtstart: datetime) -> rrule:
    parts = []
    for part in body.strip().split(";"):
        key, _, value = part.partition("=")
        if key.upper() == "UNTIL":
            value = _until(value, all_day, span)
        parts.append(f"{key}={value}")
    text = ";".join(parts)
    if "FREQ=" not in text.upper():
        raise invalid(f"Invalid recurrence rule: {body!r} has no FREQ.")
    try:
        parsed = rrulestr(text, dtstart=dtstart)
    except (ValueError, TypeError, KeyError) as err:
        raise invalid(f"Invalid recurrence rule: {body!r} ({err}).") from err
    assert isinstance(parsed, rrule)
    return parsed


def _dates(line: str, all_day: bool, span: Span) -> list[datetime]:
    head, _, values = line.partition(":")
    params = {k.upper(): v for k, _, v in (p.partition("=") for p in head.split(";")[1:])}
    tz = zone(span.tz) or UTC
    value_tz = check_zone(params["TZID"], "recurrence") if "TZID" in params else tz
    out: list[datetime] = []
    for raw in values.split(","):
        v = raw.strip()
        if _DATE.match(v):
            d = datetime.strptime(v, "%Y%m%d")
            out.append(d if all_day else datetime.combine(d.date(), span.local_start.timetz()))  # type: ignore[union-attr]
        elif _UTC_DT.match(v):
            utc = datetime.strptime(v, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
            out.append(datetime(utc.year, utc.month, utc.day) if all_day else utc.astimezone(tz))
        elif _LOCAL_DT.match(v):
            naive = datetime.strptime(v, "%Y%m%dT%H%M%S")
            out.append(
                naive.replace(hour=0, minute=0, second=0) if all_day else naive.replace(tzinfo=value_tz).astimezone(tz)
            )
        else:
            raise invalid(
                f"Invalid recurrence line {line!r}: {v!r} is not a date or date-time (periods are not supported)."
            )
    return out


def _dtstart(span: Span) -> datetime:
    if span.all_day:
        d = span.local_start
        return datetime(d.year, d.month, d.day)
    assert isinstance(span.local_start, datetime)
    return span.local_start


def _on_rule(rules: list[rrule], dtstart: datetime) -> bool:
    return any(next(iter(r), None) == dtstart for r in rules)


@functools.lru_cache(maxsize=2048)
def build(lines: tuple[str, ...], span: Span, off_rule: str = "google") -> rruleset:
    """The rule set of a series, or a 400 naming the bad line; ``off_rule`` says how a start
    that is not on its rule counts (module docstring)."""
    rs = rruleset()
    dtstart = _dtstart(span)
    has_rule = False
    rules = [_rule(line.split(":", 1)[1], span.all_day, span, dtstart) for line in lines if _name(line) == "RRULE"]
    off = bool(rules) and not _on_rule(rules, dtstart)
    if off:
        rs.rdate(dtstart)  # the start is an occurrence either way
    for r in rules:
        count: int | None = getattr(r, "_count", None)  # dateutil keeps COUNT here
        if off and off_rule == "rfc5545" and count:
            if count > 1:
                rs.rrule(r.replace(count=count - 1))  # the start was the first of COUNT
        else:
            rs.rrule(r)
        has_rule = True
    for line in lines:
        name = _name(line)
        if name == "RRULE":
            continue
        if name == "EXRULE":
            rs.exrule(_rule(line.split(":", 1)[1], span.all_day, span, dtstart))
        elif name == "RDATE":
            for d in _dates(line, span.all_day, span):
                rs.rdate(d)
            has_rule = True
        elif name == "EXDATE":
            for d in _dates(line, span.all_day, span):
                rs.exdate(d)
        else:
            raise invalid(f"Invalid recurrence line {line!r}: expected RRULE, EXRULE, RDATE or EXDATE.")
    if not has_rule:
        raise invalid("Invalid recurrence: a recurring event needs an RRULE or RDATE line.")
    return rs


def _name(line: str) -> str:
    return re.split(r"[:;]", line, maxsplit=1)[0].strip().upper()


def validate(lines: list[str], span: Span) -> None:
    """400 unless the recurrence lines are valid for this start (timed series need a time zone)."""
    build(tuple(lines), span)


def original_of(occ: datetime, all_day: bool) -> datetime | date:
    """An occurrence as wall-clock original start (a date for all-day)."""
    return occ.date() if all_day else occ


def occurrences(
    lines: list[str],
    span: Span,
    cal_tz: str,
    lo: datetime | None,
    hi: datetime,
    cap: int = MAX_INSTANCES,
    off_rule: str = "google",
) -> Iterator[tuple[datetime | date, datetime, datetime]]:
    """Occurrences (original start, start instant, end instant) with end > lo and start < hi."""
    rs = build(tuple(lines), span, off_rule)
    length = span.end - span.start if not span.all_day else None
    days = (span.local_end - span.local_start) if span.all_day else None  # type: ignore[operator]
    ctz = zone(cal_tz) or UTC
    count = 0
    for occ in rs:
        if span.all_day:
            d = occ.date()
            start = day_start(d, ctz)
            end = day_start(d + days, ctz)  # type: ignore[operator]
        else:
            start = occ.astimezone(UTC)
            end = start + length  # type: ignore[operator]
        if start >= hi:
            return
        if lo is not None and end <= lo:
            continue
        yield original_of(occ, span.all_day), start, end
        count += 1
        if count >= cap:
            return


def contains(lines: list[str], span: Span, original: datetime | date, off_rule: str = "google") -> bool:
    """Whether ``original`` is an occurrence of the series (not excluded)."""
    rs = build(tuple(lines), span, off_rule)
    if span.all_day:
        if not isinstance(original, date) or isinstance(original, datetime):
            return False
        probe = datetime(original.year, original.month, original.day)
    else:
        if not isinstance(original, datetime):
            return False
        probe = original
    found = rs.between(probe - timedelta(seconds=1), probe + timedelta(seconds=1), inc=True)
    return any(f == probe for f in found)


def parse_stamp(stamp: str, span: Span) -> datetime | date | None:
    """The original start encoded in an instance id's suffix, in the series' zone."""
    if span.all_day:
        return datetime.strptime(stamp, "%Y%m%d").date() if _DATE.match(stamp) else None
    if not _UTC_DT.match(stamp):
        return None
    return datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC).astimezone(zone(span.tz) or UTC)
