"""A series' recurrence: RRULE/EXRULE/EXDATE/RDATE lines in canonical form, and the occurrences they
give (none at all, or one within a window)."""

from __future__ import annotations

from datetime import UTC, datetime

from dateutil.rrule import rruleset, rrulestr

from . import normalise as n
from .link import Canon
from .wall_clock import BASIC_FMT, instant, parse_local, zone

_RULE_ORDER = (
    "FREQ", "UNTIL", "COUNT", "INTERVAL", "BYSECOND", "BYMINUTE", "BYHOUR", "BYDAY", "BYMONTHDAY",
    "BYYEARDAY", "BYWEEKNO", "BYMONTH", "BYSETPOS", "WKST",
)  # fmt: skip
_RULE_DEFAULTS = {"INTERVAL": "1", "WKST": "MO"}


def _rule(value: str, tz: str | None, all_day: bool) -> str:
    parts: dict[str, str] = {}
    for chunk in value.split(";"):
        key, _, val = chunk.partition("=")
        if key.strip():
            parts[key.strip().upper()] = val.strip().upper()
    for key, default in _RULE_DEFAULTS.items():
        if parts.get(key) == default:
            del parts[key]
    until = parts.get("UNTIL")
    if until:
        if all_day:
            parts["UNTIL"] = until[:8]
        elif len(until) == 15 and tz:  # a floating UNTIL means wall-clock in the series' zone
            parts["UNTIL"] = (
                datetime.strptime(until, BASIC_FMT).replace(tzinfo=zone(tz)).astimezone(UTC).strftime(BASIC_FMT + "Z")
            )
        elif len(until) == 8 and tz:  # a date UNTIL on a timed series: the day's end in the series' zone (as Google)
            parts["UNTIL"] = (
                datetime.strptime(until + "T235959", BASIC_FMT)
                .replace(tzinfo=zone(tz))
                .astimezone(UTC)
                .strftime(BASIC_FMT + "Z")
            )
    ordered = [k for k in _RULE_ORDER if k in parts] + sorted(k for k in parts if k not in _RULE_ORDER)
    return ";".join(f"{k}={parts[k]}" for k in ordered)


def _date_values(name: str, params: dict[str, str], values: str, tz: str | None, all_day: bool) -> list[str]:
    out = []
    for raw in (v.strip().upper() for v in values.split(",")):
        if not raw:
            continue
        if all_day:
            out.append(f"{name};VALUE=DATE:{raw[:8]}")
            continue
        if len(raw) == 8:
            raw += "T000000"
        if raw.endswith("Z"):
            moment = datetime.strptime(raw[:15], BASIC_FMT).replace(tzinfo=UTC)
        else:
            moment = datetime.strptime(raw[:15], BASIC_FMT).replace(tzinfo=zone(params.get("TZID") or tz or "UTC"))
        local = moment.astimezone(zone(tz or "UTC")).strftime(BASIC_FMT)
        out.append(f"{name};TZID={tz or 'UTC'}:{local}")
    return out


def recurrence_lines(lines: list[str] | None, tz: str | None, all_day: bool) -> list[str]:
    """RRULE/EXRULE/EXDATE/RDATE lines in canonical form: rule parts in RFC order without
    defaults, dates one per line in the series' zone, sorted; raises InvalidValue."""
    out: set[str] = set()
    for line in lines or []:
        text = line.strip()
        if not text:
            continue
        head, sep, value = text.partition(":")
        if not sep:
            head, value = "RRULE", text
        name, *raw_params = head.split(";")
        name = name.strip().upper()
        params = {k.upper(): v for k, _, v in (p.partition("=") for p in raw_params)}
        try:
            if name in ("RRULE", "EXRULE"):
                out.add(f"{name}:{_rule(value, tz, all_day)}")
            elif name in ("EXDATE", "RDATE"):
                out.update(_date_values(name, params, value, tz, all_day))
            else:
                raise n.InvalidValue("recurrence", f"unsupported recurrence line {text!r}")
        except ValueError as err:
            if isinstance(err, n.InvalidValue):
                raise
            raise n.InvalidValue("recurrence", f"cannot read recurrence line {text!r}: {err}") from err
    return sorted(out)


def occurrences(canon: Canon) -> rruleset | None:
    """The series' occurrences: rules and dates all on the start's footing (zone-aware wall
    clock in the series' zone for a timed series, naive dates for an all-day one) — mixing an
    aware DTSTART with naive RDATEs is what made dateutil compare naive with aware."""
    lines = [x for x in canon.get("recurrence") or [] if x.startswith(("RRULE", "RDATE"))]
    if not lines:
        return None
    start = canon["start"]
    all_day = "date" in start
    tz = None if all_day else zone(start["tz"])
    dtstart = datetime.fromisoformat(start["date"]) if all_day else parse_local(start["local"]).replace(tzinfo=tz)
    result = rruleset()
    try:
        for line in lines:
            head, _, value = line.partition(":")
            if head == "RRULE":
                result.rrule(rrulestr(value, dtstart=dtstart))  # type: ignore[arg-type]
                continue
            for raw in value.split(","):
                moment = (
                    datetime.strptime(raw[:8], "%Y%m%d") if len(raw) == 8 else datetime.strptime(raw[:15], BASIC_FMT)
                )
                if all_day:
                    result.rdate(moment.replace(hour=0, minute=0, second=0))
                else:
                    result.rdate(
                        moment.replace(tzinfo=tz)
                        if len(raw) > 8
                        else moment.replace(hour=dtstart.hour, minute=dtstart.minute, second=dtstart.second, tzinfo=tz)
                    )
    except (ValueError, TypeError):
        return None
    return result


def never_happens(canon: Canon) -> bool:
    """A series whose rule and dates give no occurrence at all (UNTIL before the start: Google's
    apps can leave one behind, and Google shows nothing for it): no event to sync."""
    if not any(x.startswith(("RRULE", "RDATE")) for x in canon.get("recurrence") or []):
        return False
    series = occurrences(canon)
    if series is None:
        return False
    try:
        return next(iter(series), None) is None
    except (ValueError, TypeError):
        return False


def overlaps(canon: Canon, lo: datetime, hi: datetime) -> bool:
    """Whether the event (any occurrence of a series) overlaps the instants [lo, hi)."""
    first = instant(canon["start"])
    length = instant(canon["end"]) - first
    series = occurrences(canon)
    if series is None:
        return first < hi and first + length > lo
    if "date" in canon["start"]:
        probe: datetime = (lo - length).replace(tzinfo=None)
        limit = hi.replace(tzinfo=None)
    else:
        probe, limit = lo - length, hi
    try:
        nxt = series.after(probe, inc=False)
    except (ValueError, TypeError):
        return first < hi
    return nxt is not None and nxt < limit
