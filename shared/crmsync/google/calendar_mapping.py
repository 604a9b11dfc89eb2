"""Calendar v3 event JSON <-> canonical events: ids, series folding, request bodies."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from ..model.event import canonical_event
from ..model.link import Canon
from ..model.wall_clock import LOCAL_FMT, parse_local, zone

CRM_ID_PROP = "crmsyncCrmId"
CONNECTION_PROP = "crmsyncConnection"
UID_DOMAIN = "@crmsync"
_RESPONSES = {"needsAction": "needs_action", "accepted": "accepted", "declined": "declined", "tentative": "tentative"}
_GOOGLE_RESPONSES = {v: k for k, v in _RESPONSES.items()}
Event = dict[str, Any]


def event_id(connection_id: str, crm_id: str) -> str:
    """Our deterministic Calendar event id: base32hex (a-v0-9) of a hash of connection and CRM id."""
    digest = hashlib.sha256(f"{connection_id}|events|{crm_id}".encode()).digest()[:20]
    return base64.b32hexencode(digest).decode().rstrip("=").lower()


def ical_uid(eid: str) -> str:
    """The iCalUID we give the events we create (recognisable as crmsync's)."""
    return eid + UID_DOMAIN


def crm_id_of(ev: Mapping[str, Any], connection_id: str) -> str | None:
    """The CRM id our own writes stored in the event's private extended properties."""
    props = (ev.get("extendedProperties") or {}).get("private") or {}
    if props.get(CONNECTION_PROP) not in (None, connection_id):
        return None
    value = props.get(CRM_ID_PROP)
    return str(value) if value else None


def is_foreign_copy(ev: Mapping[str, Any], connection_id: str) -> bool:
    """A meeting another crmsync connection created (its organizer's sync owns it)."""
    return str(ev.get("iCalUID") or "").endswith(UID_DOMAIN) and crm_id_of(ev, connection_id) is None


def when_canon(when: Mapping[str, Any], tz: str) -> dict[str, str]:
    """A Google EventDateTime as a canonical time in zone ``tz`` (wall-clock kept)."""
    if when.get("date"):
        return {"date": str(when["date"])}
    moment = datetime.fromisoformat(str(when["dateTime"]).replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone(str(when.get("timeZone") or tz)))
    return {"local": moment.astimezone(zone(tz)).strftime(LOCAL_FMT), "tz": tz}


def _key(when: dict[str, str]) -> str:
    return when.get("date") or when["local"]


def series_zone(master: Mapping[str, Any], cal_tz: str) -> str:
    """The zone a series' wall-clock times are kept in."""
    return str((master.get("start") or {}).get("timeZone") or cal_tz)


def event_raw(master: Event, instances: list[Event], cal_tz: str, me: str) -> dict[str, Any]:
    """A series master (or single event) and its exception instances as a raw event dict."""
    tz = series_zone(master, cal_tz)
    organizer = master.get("organizer") or {}
    org_email = me if organizer.get("self") or not organizer.get("email") else str(organizer["email"])
    reminders = master.get("reminders") or {}
    exceptions = []
    for inst in instances:
        original = when_canon(inst.get("originalStartTime") or inst["start"], tz)
        entry: dict[str, Any] = {"original_start": _key(original)}
        if inst.get("status") == "cancelled":
            entry["cancelled"] = True
        else:
            entry["start"] = _key(when_canon(inst["start"], tz))
            entry["end"] = _key(when_canon(inst["end"], tz))
            entry.update(subject=inst.get("summary"), description=inst.get("description"))
            entry["location"] = inst.get("location")
        exceptions.append(entry)
    return {
        "subject": master.get("summary"),
        "description": master.get("description"),
        "location": master.get("location"),
        "all_day": "date" in (master.get("start") or {}),
        "start": when_canon(master["start"], tz),
        "end": when_canon(master["end"], tz),
        "recurrence": master.get("recurrence") or [],
        "exceptions": exceptions,
        "attendees": [
            {
                "email": a["email"],
                "response": _RESPONSES.get(str(a.get("responseStatus")), "needs_action"),
                "name": a.get("displayName"),
            }
            for a in master.get("attendees") or []
            if a.get("email") and not a.get("resource")
        ],
        "organizer": org_email,
        "private": master.get("visibility") in ("private", "confidential"),
        "reminders": []
        if reminders.get("useDefault", True)
        else [{"method": r.get("method"), "minutes": r.get("minutes", 0)} for r in reminders.get("overrides") or []],
    }


def event_canon(master: Event, instances: list[Event], cal_tz: str, me: str) -> Canon:
    """The canonical event of a series master (or single event) with its exceptions."""
    return canonical_event(event_raw(master, instances, cal_tz, me))


# ----------------------------------------------------------------------------- bodies


def when_body(when: Mapping[str, str]) -> dict[str, str]:
    """A canonical time as a Google EventDateTime (wall-clock + zone)."""
    if "date" in when:
        return {"date": when["date"]}
    return {"dateTime": when["local"], "timeZone": when["tz"]}


def _reminders(values: list[str] | None) -> dict[str, Any]:
    if not values:
        return {"useDefault": True}
    overrides = []
    for v in values:
        method, _, minutes = v.partition(":")
        overrides.append({"method": method if method in ("popup", "email") else "popup", "minutes": int(minutes)})
    return {"useDefault": False, "overrides": overrides}


def _attendees(entries: list[dict[str, Any]] | None) -> list[dict[str, str]]:
    return [
        {
            "email": e["value"],
            "responseStatus": _GOOGLE_RESPONSES.get(str(e.get("response")), "needsAction"),
            **({"displayName": e["name"]} if e.get("name") else {}),
        }
        for e in entries or []
    ]


def keep_attendees(fresh: list[dict[str, Any]], current: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``fresh`` attendees (from the merged record) laid over the event's ``current`` ones: a
    listed attendee keeps what the CRM does not model (optional flag, comment, additional guests,
    and its display name where the merged record has none), and rooms and the organizer's own entry (never in the canonical list)
    stay."""
    by_email = {str(a.get("email") or "").lower(): a for a in current if a.get("email")}
    out = []
    for a in fresh:
        old = by_email.get(str(a["email"]).lower())
        out.append({**old, **a} if old else a)  # a name the merged record has replaces Google's; none keeps it
    listed = {str(a["email"]).lower() for a in fresh}
    out += [
        a
        for a in current
        if (a.get("resource") or a.get("organizer")) and str(a.get("email") or "").lower() not in listed
    ]
    return out


# canonical field -> Google fields it is written through (organizer is read-only in Google)
FIELD_MAP: dict[str, tuple[str, ...]] = {
    "subject": ("summary",),
    "description": ("description",),
    "location": ("location",),
    "all_day": ("start", "end"),
    "start": ("start", "end"),
    "end": ("start", "end"),
    "recurrence": ("recurrence",),
    "exceptions": ("recurrence",),  # cancellations are written as EXDATEs (moves/overrides per instance)
    "attendees": ("attendees",),
    "private": ("visibility",),
    "reminders": ("reminders",),
}


def recurrence_body(full: Canon) -> list[str]:
    """Google's recurrence lines: the rule and dates, and an EXDATE per cancelled occurrence."""
    lines = list(full.get("recurrence") or [])
    if not lines:
        return []
    for entry in full.get("exceptions") or []:
        if entry.get("cancelled"):
            stamp = entry["value"].replace("-", "").replace(":", "")
            lines.append(
                f"EXDATE;VALUE=DATE:{stamp[:8]}"
                if full.get("all_day")
                else f"EXDATE;TZID={full['start']['tz']}:{stamp}"
            )
    return lines


def patch_body(fields: Canon, full: Canon) -> Event:
    """The PATCH body for changed canonical fields (start/end/recurrence/attendees from the whole record)."""
    wanted = {g for f in fields for g in FIELD_MAP.get(f, ())}
    body: Event = {}
    if "summary" in wanted:
        body["summary"] = full.get("subject")
    if "description" in wanted:
        body["description"] = full.get("description")
    if "location" in wanted:
        body["location"] = full.get("location")
    if "start" in wanted:
        body["start"], body["end"] = when_body(full["start"]), when_body(full["end"])
    if "recurrence" in wanted or ("start" in wanted and full.get("recurrence")):
        body["recurrence"] = recurrence_body(full)
    if "attendees" in wanted:
        body["attendees"] = _attendees(full.get("attendees"))
    if "visibility" in wanted:
        body["visibility"] = "private" if full.get("private") else "default"
    if "reminders" in wanted:
        body["reminders"] = _reminders(full.get("reminders"))
    return body


def insert_body(full: Canon, eid: str, crm_id: str, connection_id: str) -> Event:
    """The events.insert body: every field, our id and iCalUID, the CRM id in private properties."""
    body = patch_body(dict.fromkeys(FIELD_MAP), full)
    body = {k: v for k, v in body.items() if v is not None and v != []}
    body.update(
        id=eid,
        iCalUID=ical_uid(eid),
        extendedProperties={"private": {CRM_ID_PROP: crm_id, CONNECTION_PROP: connection_id}},
    )
    return body


def instance_id(series_id: str, original: str, full: Canon) -> str:
    """The id of one occurrence: ``<series>_<YYYYMMDDTHHMMSSZ>`` (UTC) or ``<series>_<YYYYMMDD>`` (all-day)."""
    if full.get("all_day"):
        return f"{series_id}_{original[:10].replace('-', '')}"
    moment = parse_local(original).replace(tzinfo=zone(full["start"]["tz"])).astimezone(UTC)
    return f"{series_id}_{moment.strftime('%Y%m%dT%H%M%SZ')}"


def occurrence_times(original: str, full: Canon) -> tuple[dict[str, str], dict[str, str]]:
    """Canonical start/end of the unmodified occurrence starting at ``original``."""
    if full.get("all_day"):
        days = (date.fromisoformat(full["end"]["date"]) - date.fromisoformat(full["start"]["date"])).days
        first = date.fromisoformat(original[:10])
        return {"date": first.isoformat()}, {"date": (first + timedelta(days=days)).isoformat()}
    tz = full["start"]["tz"]
    length = parse_local(full["end"]["local"]).replace(tzinfo=zone(tz)) - parse_local(full["start"]["local"]).replace(
        tzinfo=zone(tz)
    )
    begin = parse_local(original).replace(tzinfo=zone(tz))
    finish = (begin.astimezone(UTC) + length).astimezone(zone(tz))
    return {"local": original, "tz": tz}, {"local": finish.strftime(LOCAL_FMT), "tz": tz}


def _as_when(value: str, full: Canon) -> dict[str, str]:
    """An occurrence's moved start or end: a date in an all-day series, or for an occurrence of a
    timed series moved to an all-day slot (kept all-day); else wall-clock in the series' zone."""
    if full.get("all_day") or len(value) == 10:
        return {"date": value[:10]}
    return {"local": value, "tz": full["start"]["tz"]}


def instance_body(entry: Mapping[str, Any] | None, original: str, full: Canon) -> Event:
    """The PATCH body of one occurrence: its overrides, or the series' values to restore it."""
    natural_start, natural_end = occurrence_times(original, full)
    entry = entry or {}
    start = _as_when(entry["start"], full) if entry.get("start") else natural_start
    end = _as_when(entry["end"], full) if entry.get("end") else natural_end
    return {
        "status": "confirmed",
        "start": when_body(start),
        "end": when_body(end),
        "summary": entry.get("subject") or full.get("subject"),
        "description": entry.get("description") or full.get("description"),
        "location": entry.get("location") or full.get("location"),
    }


@dataclass(frozen=True)
class Series:
    """A master (or single event) as Google holds it now, with its exception instances."""

    master: Event | None
    exceptions: list[Event]
