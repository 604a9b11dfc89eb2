"""The canonical event: the one shape CRM activities and Google Calendar events are compared in.

Times are wall-clock plus IANA zone (``{"local": "YYYY-MM-DDTHH:MM:SS", "tz": zone}``)
or a date (``{"date": "YYYY-MM-DD"}``, all-day, the end exclusive like Google's), so a
DST change never shifts anything. Recurrence is a sorted list of normalised
RRULE/EXRULE/RDATE lines (RDATE in the series' zone; model/recurrence.py); a cancelled occurrence is
an exception entry however a side spells it (EXDATE or cancelled instance), so
that cancelling and moving the same occurrence meet in one entry; exceptions,
attendees and reminders are keyed so they merge per entry.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from . import normalise as n
from .ids import MAX_CALENDARS, CalendarId, Text200
from .link import Canon
from .recurrence import occurrences, recurrence_lines
from .wall_clock import BASIC_FMT, LOCAL_FMT, instant, parse_local, zone

EVENT_FIELDS = (
    "subject",
    "description",
    "location",
    "all_day",
    "start",
    "end",
    "recurrence",
    "exceptions",
    "attendees",
    "organizer",
    "private",
    "reminders",
)
RESPONSES = ("needs_action", "accepted", "declined", "tentative")
OVERRIDES = ("start", "end", "subject", "description", "location")
BUSY_SUMMARY = "Private"
BUSY_HIDDEN = ("description", "location")  # cleared in a busy block, like its attendees


class Window(BaseModel):
    """Which events one direction syncs: those overlapping [now - back_days, now + ahead_days)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    back_days: int = Field(default=60, ge=0, le=3650)
    ahead_days: int = Field(default=365, ge=1, le=3650)

    def bounds(self, now: datetime) -> tuple[datetime, datetime]:
        """The window as UTC instants around ``now``."""
        return now - timedelta(days=self.back_days), now + timedelta(days=self.ahead_days)


class EventOptions(BaseModel):
    """Event-specific options of one connection."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    calendar: Literal["primary", "dedicated"] = "primary"  # where CRM activities are written
    calendar_name: Text200 = Field(default="CRM", min_length=1)  # the dedicated calendar's name
    read_calendars: tuple[CalendarId, ...] = Field(
        default=(), max_length=MAX_CALENDARS
    )  # further calendars read into the CRM
    crm_window: Window = Window()  # CRM activities sent to Google
    google_window: Window = Window()  # Google events brought into the CRM
    # Private CRM activities: synced in full, skipped, or "busy": shown in Google only as a
    # private block titled "Private" (no details), whose details never overwrite the CRM's.
    private_activities: Literal["sync", "skip", "busy"] = "sync"
    send_updates: Literal["none", "all", "externalOnly"] = "none"  # attendee e-mails only on opt-in


def _when(raw: Mapping[str, Any] | None, all_day: bool, what: str) -> dict[str, str]:
    if not raw:
        raise n.InvalidValue(what, f"an event needs a {what}")
    if all_day:
        value = raw.get("date") or str(raw.get("local") or "")[:10]
        try:
            return {"date": date.fromisoformat(str(value)).isoformat()}
        except ValueError as err:
            raise n.InvalidValue(what, f"{value!r} is not a date YYYY-MM-DD") from err
    tz = str(raw.get("tz") or "")
    zone(tz)
    return {"local": parse_local(str(raw.get("local") or "")).strftime(LOCAL_FMT), "tz": tz}


# ----------------------------------------------------------------------------- exceptions, people


def _occurrence_key(value: str, all_day: bool) -> str:
    return value[:10] if all_day else parse_local(value).strftime(LOCAL_FMT)


def _moved_to(value: str, all_day: bool) -> str:
    """Where an occurrence was moved: like its key, except that an occurrence of a timed series
    moved to an all-day slot (Google allows it) stays a date (``YYYY-MM-DD``), so the series is
    read whole; a side that cannot hold such an occurrence holds it back (see crm/held_values)."""
    if not all_day and len(value) == 10:
        return date.fromisoformat(value).isoformat()
    return _occurrence_key(value, all_day)


def _cancelled(key: str) -> dict[str, Any]:
    return {"value": key, "cancelled": True, **dict.fromkeys(OVERRIDES)}


def _exdate_key(line: str, all_day: bool) -> str:
    value = line.rsplit(":", 1)[1]
    day = f"{value[:4]}-{value[4:6]}-{value[6:8]}"
    return day if all_day else f"{day}T{value[9:11]}:{value[11:13]}:{value[13:15]}"


def _exceptions(raw: Mapping[str, Any], canon: Canon, exdates: list[str]) -> list[dict[str, Any]]:
    all_day = bool(canon["all_day"])
    length = instant(canon["end"]) - instant(canon["start"])
    found: dict[str, dict[str, Any]] = {}
    for exc in raw.get("exceptions") or []:
        key = _occurrence_key(str(exc["original_start"]), all_day)
        entry: dict[str, Any] = {"value": key, "cancelled": bool(exc.get("cancelled"))}
        for f in OVERRIDES:
            entry[f] = None
        if not entry["cancelled"]:
            start = _moved_to(str(exc["start"]), all_day) if exc.get("start") else key
            natural_end = _natural_end(key, length, all_day)
            end = _moved_to(str(exc["end"]), all_day) if exc.get("end") else natural_end
            if start != key or end != natural_end:
                entry["start"], entry["end"] = start, end
            for f, norm in (("subject", n.text), ("description", n.multiline), ("location", n.text)):
                value = norm(exc.get(f))
                if value is not None and value != canon[f]:
                    entry[f] = value
            if all(entry[f] is None for f in OVERRIDES):
                continue  # an "exception" identical to its occurrence is no exception
        found[key] = entry
    for line in exdates:  # an EXDATE is a cancelled occurrence, however a side spells it (and wins)
        key = _exdate_key(line, all_day)
        found[key] = _cancelled(key)
    return [found[k] for k in sorted(found)]


def _natural_end(key: str, length: timedelta, all_day: bool) -> str:
    if all_day:
        return (date.fromisoformat(key) + timedelta(days=length.days)).isoformat()
    return (parse_local(key) + length).strftime(LOCAL_FMT)


def _attendees(items: list[dict[str, Any]] | None, organizer: str | None) -> list[dict[str, str]]:
    """Attendees keyed by e-mail: ``{value, response}``, plus ``name`` when the side has one (Google's
    display name, the CRM's attendee name), so a name given on one side reaches the other."""
    seen: dict[str, dict[str, str]] = {}
    for item in items or []:
        email = n.loose_email(item.get("email"))
        if email == organizer:
            continue  # the organizer is implied, whether a side lists them or not
        response = str(item.get("response") or "needs_action")
        entry = {"value": email, "response": response if response in RESPONSES else "needs_action"}
        name = n.text(item.get("name"))
        if name:
            entry["name"] = name
        seen[email] = entry
    return [seen[e] for e in sorted(seen)]


def _reminders(items: list[dict[str, Any]] | None) -> list[str]:
    return sorted({f"{n.label(r.get('method'), 'popup')}:{int(r.get('minutes', 0))}" for r in items or []})


def canonical_event(raw: Mapping[str, Any]) -> Canon:
    """Canonical form of a raw event dict (keys as ``EVENT_FIELDS``; exceptions as
    ``{original_start, cancelled, start, end, subject, description, location}`` with
    local times; attendees ``{email, response, name}``; reminders ``{method, minutes}``);
    raises ``normalise.InvalidValue`` for values that cannot be synced."""
    all_day = bool(raw.get("all_day"))
    start = _when(raw.get("start"), all_day, "start")
    end = _when(raw.get("end"), all_day, "end")
    tz = start.get("tz")
    if tz and end.get("tz") != tz:  # one zone per event: the end is re-expressed in the start's zone
        end = {"local": instant(end).astimezone(zone(tz)).strftime(LOCAL_FMT), "tz": tz}
    if instant(end) < instant(start) or (all_day and end == start):
        raise n.InvalidValue("end", "the end is before the start")
    organizer = n.loose_email(raw["organizer"]) if raw.get("organizer") else None
    canon: Canon = {
        "subject": n.text(raw.get("subject")),
        "description": n.multiline(raw.get("description")),
        "location": n.text(raw.get("location")),
        "all_day": all_day,
        "start": start,
        "end": end,
        "recurrence": recurrence_lines(raw.get("recurrence"), tz, all_day),
        "attendees": _attendees(raw.get("attendees"), organizer),
        "organizer": organizer,
        "private": bool(raw.get("private")),
        "reminders": _reminders(raw.get("reminders")),
    }
    exdates = [x for x in canon["recurrence"] if x.startswith("EXDATE")]
    canon["recurrence"] = [x for x in canon["recurrence"] if not x.startswith("EXDATE")]
    canon["exceptions"] = _exceptions(raw, canon, exdates) if canon["recurrence"] else []
    return coherent({k: canon[k] for k in EVENT_FIELDS})


def coherent(canon: Canon) -> Canon:
    """``canon`` without the exceptions of occurrences its series does not have: a series
    shortened ("this and following") or moved keeps no exception outside it — Google leaves
    such instances behind, the CRM refuses them, and a merge of a split on one side with an
    occurrence edited on the other would otherwise produce one."""
    exceptions = canon.get("exceptions") or []
    if not exceptions:
        return canon
    series = occurrences(canon)
    all_day = "date" in canon["start"]

    def has(key: str) -> bool:
        if series is None:
            return False
        if all_day:
            return datetime.fromisoformat(key) in series
        return parse_local(key).replace(tzinfo=zone(canon["start"]["tz"])) in series

    kept = [e for e in exceptions if has(e["value"])]
    return canon if len(kept) == len(exceptions) else {**canon, "exceptions": kept}


def busy_canon(canon: Canon) -> Canon:
    """A private event as its busy block: subject "Private", no description, location or
    attendees, occurrences moved or cancelled but not retitled; other events unchanged."""
    if not canon.get("private"):
        return canon
    exceptions = []
    for entry in canon.get("exceptions") or []:
        masked = {**entry, "subject": None, **dict.fromkeys(BUSY_HIDDEN)}
        if masked["cancelled"] or masked.get("start") is not None or masked.get("end") is not None:
            exceptions.append(masked)
    return {
        **canon,
        "subject": BUSY_SUMMARY,
        **dict.fromkeys(BUSY_HIDDEN),
        "attendees": [],
        "exceptions": exceptions,
    }


# ----------------------------------------------------------------------------- matching


def match_keys(canon: Canon) -> tuple[list[str]]:
    """First-sync match key: the same meeting (start instant, subject, organizer) on both sides."""
    subject = (canon.get("subject") or "").casefold()
    when = instant(canon["start"]).strftime(BASIC_FMT + "Z")
    return ([f"{when}|{subject}|{canon.get('organizer') or ''}"],)
