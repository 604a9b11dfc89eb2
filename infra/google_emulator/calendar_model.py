"""Calendar v3 event resources: ids, etags, times and validation of client input."""

from __future__ import annotations

import base64
import functools
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .core import ApiError

_ID_RE = re.compile(r"^[a-v0-9]{5,1024}$")
INSTANCE_ID_RE = re.compile(r"^(?P<series>[a-v0-9]{5,1024})_(?P<stamp>\d{8}(T\d{6}Z)?)$")
# Fields a client may write; everything else in a body (etag, created, htmlLink...) is read-only and ignored.
WRITABLE = frozenset(
    {
        "summary", "description", "location", "start", "end", "recurrence", "visibility", "transparency",
        "attendees", "extendedProperties", "reminders", "status", "colorId", "sequence", "guestsCanModify",
        "guestsCanInviteOthers", "guestsCanSeeOtherGuests", "anyoneCanAddSelf", "source", "eventType",
        "endTimeUnspecified", "locked", "privateCopy",
    }
)  # fmt: skip
_ENUMS = {
    "status": ("confirmed", "tentative", "cancelled"),
    "visibility": ("default", "public", "private", "confidential"),
    "transparency": ("opaque", "transparent"),
    "eventType": ("default",),
}
_RESPONSE_STATUSES = ("needsAction", "declined", "tentative", "accepted")


def invalid(message: str, reason: str = "invalid") -> ApiError:
    """A Calendar 400 with the legacy reason."""
    return ApiError(400, message, reason=reason)


def new_event_id() -> str:
    """A server-generated event id: 26 base32hex characters (hex digits are a fast subset)."""
    return secrets.token_hex(13)


def check_client_id(event_id: Any) -> str:
    """A client-chosen event id, or a 400 that says which characters are allowed."""
    if not isinstance(event_id, str) or not _ID_RE.match(event_id):
        raise invalid(
            f"Invalid resource id value: {event_id!r}. An event id may use the characters a-v and 0-9 "
            "(base32hex, lower case) and be 5 to 1024 characters long."
        )
    return event_id


def etag(seq: int) -> str:
    """A quoted etag derived from the global change counter."""
    return f'"{3_400_000_000_000_000 + seq}"'


@functools.lru_cache(maxsize=512)
def zone(name: str) -> ZoneInfo | None:
    """The IANA zone ``name``, or None when unknown."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def check_zone(name: Any, what: str) -> ZoneInfo:
    """A valid time zone or a 400 naming the field."""
    tz = zone(name) if isinstance(name, str) and name else None
    if tz is None:
        raise invalid(f"Invalid time zone definition for {what}: {name!r} (use an IANA name such as Europe/Berlin).")
    return tz


def render_dt(when: datetime) -> str:
    """RFC 3339 with the zone's offset, ``Z`` for UTC, as Calendar writes dateTime values."""
    text = when.isoformat(timespec="seconds")
    return text[:-6] + "Z" if text.endswith("+00:00") else text


@dataclass(frozen=True)
class Span:
    """When an event happens: UTC instants for filtering plus its wall-clock start."""

    start: datetime  # UTC instant
    end: datetime  # UTC instant
    all_day: bool
    tz: str  # the event's zone (start.timeZone or the calendar's)
    local_start: datetime | date  # aware wall-clock start, or the start date
    local_end: datetime | date


def _when(obj: Any, what: str, cal_tz: str) -> tuple[datetime | date, str, bool]:
    if not isinstance(obj, dict) or not (obj.get("date") or obj.get("dateTime")):
        raise invalid(f"Missing {what}.", "required")
    if obj.get("date") and obj.get("dateTime"):
        raise invalid(f"Invalid {what}: give either date (all-day) or dateTime, not both.")
    tzname = obj.get("timeZone")
    if tzname is not None:
        check_zone(tzname, what)
    if obj.get("date"):
        try:
            return date.fromisoformat(obj["date"]), tzname or cal_tz, True
        except (TypeError, ValueError) as err:
            raise invalid(f"Invalid {what}: date {obj['date']!r} is not YYYY-MM-DD.") from err
    try:
        parsed = datetime.fromisoformat(str(obj["dateTime"]).replace("Z", "+00:00"))
    except ValueError as err:
        raise invalid(f"Invalid {what}: dateTime {obj['dateTime']!r} is not RFC 3339.") from err
    if parsed.tzinfo is None:
        if tzname is None:
            raise invalid(f"Missing time zone definition for {what}: give a UTC offset or a timeZone.")
        parsed = parsed.replace(tzinfo=zone(tzname))
    name = tzname or cal_tz
    return parsed.astimezone(zone(name)), name, False


def day_start(day: date, tz: tzinfo) -> datetime:
    """Midnight of ``day`` in ``tz`` as a UTC instant (how all-day events are placed in time)."""
    return datetime(day.year, day.month, day.day, tzinfo=tz).astimezone(UTC)


def span_of(ev: dict[str, Any], cal_tz: str) -> Span:
    """Validate and place an event's start/end; 400 on missing, mixed, empty or reversed ranges."""
    start, tz, all_day = _when(ev.get("start"), "start time", cal_tz)
    end, _, end_all_day = _when(ev.get("end"), "end time", cal_tz)
    if all_day != end_all_day:
        raise invalid("Invalid end time: start and end must both be all-day dates or both be dateTime values.")
    if end <= start:
        raise invalid("The specified time range is empty.")
    if all_day:
        ctz = zone(cal_tz) or UTC
        assert isinstance(start, date)
        assert isinstance(end, date)
        return Span(day_start(start, ctz), day_start(end, ctz), True, tz, start, end)
    assert isinstance(start, datetime)
    assert isinstance(end, datetime)
    return Span(start.astimezone(UTC), end.astimezone(UTC), False, tz, start, end)


def when_json(value: datetime | date, tzname: str | None) -> dict[str, str]:
    """An EventDateTime for a wall-clock start/end."""
    if isinstance(value, datetime):
        out = {"dateTime": render_dt(value)}
        if tzname:
            out["timeZone"] = tzname
        return out
    return {"date": value.isoformat()}


def normalize_when(obj: dict[str, Any], value: datetime | date) -> dict[str, str]:
    """The stored form of a client's start/end (offset rendered in its zone)."""
    return when_json(value, obj.get("timeZone"))


def _check_attendees(raw: Any, organizer: str, me: str) -> list[dict[str, Any]]:
    if not isinstance(raw, list):
        raise invalid("Invalid attendees: expected a list.")
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for i, att in enumerate(raw):
        email = att.get("email") if isinstance(att, dict) else None
        if not isinstance(email, str) or "@" not in email:
            raise invalid(
                f"Invalid attendee email at attendees[{i}]: {email!r}.", "required" if not email else "invalid"
            )
        key = email.lower()
        if key in seen:
            continue  # Google silently drops repeated attendees
        seen.add(key)
        status = att.get("responseStatus", "needsAction")
        if status not in _RESPONSE_STATUSES:
            raise invalid(f"Invalid responseStatus at attendees[{i}]: {status!r}.")
        item = {
            k: v
            for k, v in att.items()
            if k in ("email", "displayName", "optional", "comment", "additionalGuests", "resource")
        }
        item["email"] = email
        item["responseStatus"] = status
        if key == organizer.lower():
            item["organizer"] = True
        if key == me.lower():
            item["self"] = True
        out.append(item)
    return out


def _check_reminders(raw: Any) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise invalid("Invalid reminders: expected an object.")
    overrides = raw.get("overrides") or []
    if len(overrides) > 5:
        raise invalid("Too many reminders: at most 5 overrides are allowed.")
    for r in overrides:
        if (
            r.get("method") not in ("email", "popup")
            or not isinstance(r.get("minutes"), int)
            or not 0 <= r["minutes"] <= 40320
        ):
            raise invalid(f"Invalid reminder override {r!r}: method email|popup, minutes 0..40320.")
    if raw.get("useDefault") and overrides:
        raise invalid("Cannot specify both default reminders and overrides at the same time.")
    out: dict[str, Any] = {"useDefault": bool(raw.get("useDefault", not overrides))}
    if overrides:
        out["overrides"] = overrides
    return out


# Extended properties guide (https://developers.google.com/workspace/calendar/api/guides/extended-properties):
# keys up to 44 characters ("properties with longer keys will be silently dropped"), values up to 1024
# ("longer values will be silently truncated"), up to 300 properties totalling 32 kB per scope.
EXT_KEY_MAX, EXT_VALUE_MAX, EXT_COUNT_MAX, EXT_BYTES_MAX = 44, 1024, 300, 32 * 1024


def _ext_props(scope: str, props: Any) -> dict[str, str]:
    if not isinstance(props, dict) or not all(isinstance(v, str) for v in props.values()):
        raise invalid(f"Invalid extendedProperties.{scope}: expected a map of strings.")
    kept = {k: v[:EXT_VALUE_MAX] for k, v in props.items() if len(k) <= EXT_KEY_MAX}
    if len(kept) > EXT_COUNT_MAX:
        raise invalid(f"Too many extendedProperties.{scope}: {len(kept)} given, at most {EXT_COUNT_MAX}.")
    size = sum(len(k.encode()) + len(v.encode()) for k, v in kept.items())
    if size > EXT_BYTES_MAX:
        raise invalid(
            f"extendedProperties.{scope} too large: {size} bytes of keys and values, at most {EXT_BYTES_MAX}."
        )
    return kept


def clean_fields(body: dict[str, Any], organizer: str, me: str) -> dict[str, Any]:
    """The writable fields of a client body, validated (start/end/recurrence are checked by the caller)."""
    out = {k: v for k, v in body.items() if k in WRITABLE and v is not None}
    for key, allowed in _ENUMS.items():
        if key in out and out[key] not in allowed:
            raise invalid(f"Invalid value for {key}: {out[key]!r} (expected one of {', '.join(allowed)}).")
    for key in ("summary", "description", "location"):
        if key in out and not isinstance(out[key], str):
            raise invalid(f"Invalid value for {key}: expected a string.")
    if "attendees" in out:
        out["attendees"] = _check_attendees(out["attendees"], organizer, me)
        if not out["attendees"]:
            del out["attendees"]
    if "reminders" in out:
        out["reminders"] = _check_reminders(out["reminders"])
    if "extendedProperties" in out:
        ext = out["extendedProperties"]
        if not isinstance(ext, dict) or set(ext) - {"private", "shared"}:
            raise invalid("Invalid extendedProperties: only 'private' and 'shared' maps are allowed.")
        out["extendedProperties"] = {scope: _ext_props(scope, props) for scope, props in ext.items()}
    if "recurrence" in out and (
        not isinstance(out["recurrence"], list) or not all(isinstance(x, str) for x in out["recurrence"])
    ):
        raise invalid("Invalid recurrence: expected a list of RRULE/EXDATE/RDATE strings.")
    if "sequence" in out and (not isinstance(out["sequence"], int) or out["sequence"] < 0):
        raise invalid("Invalid sequence: expected a non-negative integer.")
    return out


def merge_patch(current: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """PATCH semantics: objects merge recursively, arrays/scalars replace, null clears.

    start/end/originalStartTime replace wholesale (a date must not keep a stale dateTime)."""
    out = dict(current)
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, dict) and key not in ("start", "end", "originalStartTime"):
            # Merged into what is there (nothing: an empty object), so a null inside still deletes:
            # extendedProperties {"private": {"k": null}} removes k, and is no error on an event without it.
            out[key] = merge_patch(out[key] if isinstance(out.get(key), dict) else {}, value)
        else:
            out[key] = value
    return out


def html_link(event_id: str, calendar_id: str) -> str:
    """The web link of an event (eid is base64 of "<id> <calendarId>")."""
    eid = base64.urlsafe_b64encode(f"{event_id} {calendar_id}".encode()).decode().rstrip("=")
    return f"https://www.google.com/calendar/event?eid={eid}"


def tombstone(ev: dict[str, Any]) -> dict[str, Any]:
    """A deleted event as listings show it: only id and status (plus the instance's series link)."""
    out = {"kind": "calendar#event", "etag": ev["etag"], "id": ev["id"], "status": "cancelled"}
    if "recurringEventId" in ev:
        out["recurringEventId"] = ev["recurringEventId"]
        out["originalStartTime"] = ev["originalStartTime"]
    return out


def cancelled_view(ev: dict[str, Any], *, details: bool) -> dict[str, Any]:
    """A cancelled event in a listing. Google (Event.status): "On the organizer's calendar, cancelled
    events continue to expose event details (summary, location, etc.) so that they can be restored
    ... However, incremental sync requests with showDeleted set to false will not return these
    details"; cancelled instances and events whose organizer changed (moved away) are bare."""
    own = ev.get("organizer", {}).get("self") is True
    if details and own and "recurringEventId" not in ev:
        return ev
    return tombstone(ev)


def utc_stamp(value: datetime | date) -> str:
    """The instance-id suffix for an original start: UTC basic format, or the date for all-day."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    return value.strftime("%Y%m%d")


def duration(span: Span) -> timedelta:
    """How long one occurrence lasts (days for all-day, absolute time otherwise)."""
    if span.all_day:
        return span.local_end - span.local_start  # type: ignore[operator]
    return span.end - span.start
