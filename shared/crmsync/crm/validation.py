"""Strict validation of CRM records, shared by the reference CRM and the in-memory fake.

Every error carries a JSON Pointer to the offending field (``/emails/0/value``)
and a message a person can act on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from dateutil.rrule import rrulestr
from pydantic import ValidationError

from .models import DATA_MODELS, META_FIELDS, ActivityData, CompanyData, ContactData, RecordData, TaskData

_EMAIL = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"
)
_TAG = re.compile(r"^[^\s,\x00-\x1f](?:[^,\x00-\x1f]{0,62}[^\s,\x00-\x1f])?$")
_DOMAIN = re.compile(r"^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+$")
_LOCAL_DT = "%Y-%m-%dT%H:%M:%S"
MAX_TEXT = 100_000
# Fields checked together: a patch touching one of them re-checks the whole group.
_GROUPS = (
    {"all_day", "start", "end", "time_zone", "start_date", "end_date", "recurrence", "exceptions"},
    {"status", "completed_at"},
)


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


def _pydantic_errors(err: ValidationError, model: type[RecordData]) -> list[FieldError]:
    out = []
    for e in err.errors():
        loc = [p for p in e["loc"] if not (isinstance(p, str) and p.startswith("function-"))]
        if e["type"] == "extra_forbidden":
            msg = "unknown field; check the spelling against the CRM Sync API record schema"
        elif e["type"] == "missing":
            msg = "this field is required"
        elif e["type"] == "literal_error":
            msg = f"must be one of: {e['ctx']['expected']}" if "ctx" in e else e["msg"]
        else:
            msg = e["msg"][0].lower() + e["msg"][1:]
        out.append(FieldError(pointer(loc), msg))
    return out


def _text_checks(data: dict[str, Any], loc: tuple[str | int, ...] = ()) -> list[FieldError]:
    errors = []
    for key, value in data.items():
        here = (*loc, key)
        if isinstance(value, str) and len(value) > MAX_TEXT:
            errors.append(FieldError(pointer(here), f"too long: {len(value)} characters, at most {MAX_TEXT}"))
        elif isinstance(value, dict):
            errors += _text_checks(value, here)
        elif isinstance(value, list):
            for i, item in enumerate(value):
                if isinstance(item, dict):
                    errors += _text_checks(item, (*here, i))
    return errors


def _check_common(rec: RecordData) -> list[FieldError]:
    errors = []
    seen = set()
    for i, tag in enumerate(rec.tags):
        if not _TAG.match(tag):
            errors.append(
                FieldError(
                    f"/tags/{i}",
                    "a tag is 1-64 characters, no commas or control characters, no leading or trailing spaces",
                )
            )
        elif tag in seen:
            errors.append(FieldError(f"/tags/{i}", f"duplicate tag {tag!r}"))
        seen.add(tag)
    if rec.owner_id is not None and not rec.owner_id:
        errors.append(FieldError("/owner_id", "must be a user id or null, not an empty string"))
    return errors


def _check_contact(rec: ContactData) -> list[FieldError]:
    errors = []
    if not any((rec.given_name, rec.family_name, rec.middle_name, rec.company_id, rec.emails, rec.phones)):
        errors.append(FieldError("/given_name", "a contact needs a name, an e-mail, a phone or a company"))
    for i, email in enumerate(rec.emails):
        if not is_email(email.value):
            errors.append(
                FieldError(
                    f"/emails/{i}/value",
                    f"{email.value!r} is not an e-mail address (expected name@domain.tld without spaces)",
                )
            )
    for i, phone in enumerate(rec.phones):
        if not phone.value.strip():
            errors.append(FieldError(f"/phones/{i}/value", "a phone number cannot be empty"))
    for i, url in enumerate(rec.urls):
        if not url.value.startswith(("http://", "https://")) or " " in url.value:
            errors.append(FieldError(f"/urls/{i}/value", "a URL starts with http:// or https:// and has no spaces"))
    for i, addr in enumerate(rec.addresses):
        if addr.country is not None and not re.fullmatch(r"[A-Z]{2}", addr.country):
            errors.append(
                FieldError(f"/addresses/{i}/country", "use the ISO 3166-1 alpha-2 country code, e.g. 'DE' or 'US'")
            )
    if rec.birthday is not None:
        errors += _check_birthday(rec.birthday.year, rec.birthday.month, rec.birthday.day)
    return errors


def _check_birthday(year: int | None, month: int, day: int) -> list[FieldError]:
    if year is not None and not 1800 <= year <= 2200:
        return [FieldError("/birthday/year", "year must be between 1800 and 2200, or left out when unknown")]
    if not 1 <= month <= 12:
        return [FieldError("/birthday/month", "month must be 1-12")]
    try:
        date(year if year is not None else 2000, month, day)  # 2000 is a leap year: 29 Feb is fine without year
    except ValueError:
        return [
            FieldError("/birthday/day", f"day {day} does not exist in month {month}" + (f" of {year}" if year else ""))
        ]
    return []


def _check_company(rec: CompanyData) -> list[FieldError]:
    errors = []
    if not rec.name.strip():
        errors.append(FieldError("/name", "a company needs a name"))
    if rec.domain is not None and not _DOMAIN.match(rec.domain):
        errors.append(FieldError("/domain", f"{rec.domain!r} is not a lower-case domain name like 'example.com'"))
    return errors


def _check_activity(rec: ActivityData) -> list[FieldError]:
    errors: list[FieldError] = []
    if not rec.subject.strip():
        errors.append(FieldError("/subject", "an activity needs a subject"))
    first: datetime | date | None = None
    if rec.all_day:
        for name in ("start", "end", "time_zone"):
            if getattr(rec, name) is not None:
                errors.append(FieldError(f"/{name}", "must be null for an all-day activity (use start_date/end_date)"))
        sd, ed = (
            (parse_date(rec.start_date) if rec.start_date else None),
            (parse_date(rec.end_date) if rec.end_date else None),
        )
        for name, raw, got in (("start_date", rec.start_date, sd), ("end_date", rec.end_date, ed)):
            if raw is None:
                errors.append(FieldError(f"/{name}", "required for an all-day activity (YYYY-MM-DD)"))
            elif got is None:
                errors.append(FieldError(f"/{name}", f"{raw!r} is not a date in the form YYYY-MM-DD"))
        if sd and ed and ed < sd:
            errors.append(FieldError("/end_date", "end_date (inclusive) must be on or after start_date"))
        first = sd
    else:
        for name in ("start_date", "end_date"):
            if getattr(rec, name) is not None:
                errors.append(
                    FieldError(f"/{name}", "only for all-day activities; set all_day to true or use start/end")
                )
        zone_ok = rec.time_zone is not None and is_time_zone(rec.time_zone)
        if rec.time_zone is None:
            errors.append(
                FieldError("/time_zone", "required for a timed activity: an IANA zone such as 'Europe/Berlin'")
            )
        elif not zone_ok:
            errors.append(
                FieldError(
                    "/time_zone", f"{rec.time_zone!r} is not an IANA time zone name (e.g. 'Europe/Berlin', 'UTC')"
                )
            )
        parsed: dict[str, datetime] = {}
        for name in ("start", "end"):
            raw = getattr(rec, name)
            if raw is None:
                errors.append(FieldError(f"/{name}", "required for a timed activity (local time YYYY-MM-DDTHH:MM:SS)"))
            elif (value := parse_local_datetime(raw)) is None:
                errors.append(
                    FieldError(
                        f"/{name}",
                        f"{raw!r} is not a local date-time YYYY-MM-DDTHH:MM:SS (no offset: the zone is in time_zone)",
                    )
                )
            else:
                parsed[name] = value
        if len(parsed) == 2 and zone_ok and rec.time_zone:
            zone = ZoneInfo(rec.time_zone)
            if parsed["end"].replace(tzinfo=zone) <= parsed["start"].replace(tzinfo=zone):
                errors.append(FieldError("/end", "end must be after start"))
        first = parsed.get("start")
    errors += _check_recurrence(rec, first, _zone(rec))
    for i, att in enumerate(rec.attendees):
        if not is_email(att.email):
            errors.append(FieldError(f"/attendees/{i}/email", f"{att.email!r} is not an e-mail address"))
    if rec.organizer_email is not None and not is_email(rec.organizer_email):
        errors.append(FieldError("/organizer_email", f"{rec.organizer_email!r} is not an e-mail address"))
    for i, rem in enumerate(rec.reminders):
        if not 0 <= rem.minutes_before <= 40320:
            errors.append(FieldError(f"/reminders/{i}/minutes_before", "must be between 0 and 40320 (four weeks)"))
    return errors


def _parse_occurrence(raw: str, all_day: bool) -> datetime | None:
    if all_day:
        d = parse_date(raw)
        return datetime(d.year, d.month, d.day) if d else None
    return parse_local_datetime(raw)


def _zone(rec: ActivityData) -> ZoneInfo | None:
    if rec.all_day or rec.time_zone is None or not is_time_zone(rec.time_zone):
        return None
    return ZoneInfo(rec.time_zone)


def _check_recurrence(rec: ActivityData, first: datetime | date | None, zone: ZoneInfo | None) -> list[FieldError]:
    errors: list[FieldError] = []
    fmt = "YYYY-MM-DD" if rec.all_day else "YYYY-MM-DDTHH:MM:SS"
    start = (
        datetime(first.year, first.month, first.day)
        if isinstance(first, date) and not isinstance(first, datetime)
        else first
    )
    rule = None
    if rec.recurrence is not None:
        text = rec.recurrence.rrule
        if text.upper().startswith(("RRULE:", "DTSTART", "EXDATE", "RDATE")) or "\n" in text:
            errors.append(
                FieldError(
                    "/recurrence/rrule",
                    "give one rule without a prefix, e.g. 'FREQ=WEEKLY;BYDAY=MO;COUNT=6'; exdates/rdates have their own fields",
                )
            )
        elif "UNTIL=" in text.upper() and "COUNT=" in text.upper():
            errors.append(FieldError("/recurrence/rrule", "use either COUNT or UNTIL, not both"))
        else:
            try:
                # A timed series starts at a zoned instant, so UNTIL must be UTC (RFC 5545).
                dtstart = (start or datetime(2000, 1, 1)).replace(tzinfo=zone)
                rule = rrulestr(text, dtstart=dtstart, forceset=False, unfold=False)
            except (ValueError, TypeError, KeyError, IndexError, OverflowError) as err:
                errors.append(
                    FieldError(
                        "/recurrence/rrule",
                        f"not a valid RFC 5545 RRULE ({err}); example: 'FREQ=WEEKLY;BYDAY=MO;COUNT=6'",
                    )
                )
        if rule is not None and start is not None and not rec.recurrence.rdates and _is_empty(rule, start, zone):
            errors.append(
                FieldError(
                    "/recurrence/rrule",
                    f"the series has no occurrence: its rule ends before its first start ({start.isoformat()}); "
                    "move UNTIL after the start, or the start before UNTIL",
                )
            )
        for field in ("exdates", "rdates"):
            for i, raw in enumerate(getattr(rec.recurrence, field)):
                if _parse_occurrence(raw, rec.all_day) is None:
                    errors.append(FieldError(f"/recurrence/{field}/{i}", f"{raw!r} is not a local {fmt}"))
    if rec.exceptions and rec.recurrence is None:
        errors.append(FieldError("/exceptions", "exceptions are only allowed on a recurring activity"))
    for i, exc in enumerate(rec.exceptions):
        original = _parse_occurrence(exc.original_start, rec.all_day)
        if original is None:
            errors.append(FieldError(f"/exceptions/{i}/original_start", f"{exc.original_start!r} is not a local {fmt}"))
        elif rule is not None and start is not None and not _is_occurrence(rule, original.replace(tzinfo=zone)):
            errors.append(
                FieldError(
                    f"/exceptions/{i}/original_start", f"{exc.original_start} is not an occurrence of the series"
                )
            )
        for name in ("start", "end"):
            raw = getattr(exc, name)
            if raw is not None and _parse_occurrence(raw, rec.all_day) is None:
                errors.append(FieldError(f"/exceptions/{i}/{name}", f"{raw!r} is not a local {fmt}"))
        if exc.cancelled and any(
            getattr(exc, n) is not None for n in ("start", "end", "subject", "description", "location")
        ):
            errors.append(
                FieldError(
                    f"/exceptions/{i}/cancelled",
                    "a cancelled occurrence has no overrides; drop them or set cancelled to false",
                )
            )
    return errors


def _is_empty(rule: Any, start: datetime, zone: ZoneInfo | None) -> bool:
    try:
        return rule.after(start.replace(tzinfo=zone) - timedelta(seconds=1), inc=True) is None
    except (ValueError, OverflowError):
        return False


def _is_occurrence(rule: Any, when: datetime) -> bool:
    try:
        found = rule.after(when - timedelta(seconds=1), inc=True)
    except (ValueError, OverflowError):
        return False
    return bool(found == when)


def _check_task(rec: TaskData) -> list[FieldError]:
    errors = []
    if not rec.title.strip():
        errors.append(FieldError("/title", "a task needs a title"))
    if rec.due is not None and parse_date(rec.due) is None and parse_instant(rec.due) is None:
        errors.append(
            FieldError(
                "/due",
                f"{rec.due!r} is neither a date YYYY-MM-DD nor a date-time with offset like 2026-11-25T16:30:00+01:00",
            )
        )
    if rec.completed_at is not None:
        if parse_instant(rec.completed_at) is None:
            errors.append(
                FieldError("/completed_at", f"{rec.completed_at!r} is not a date-time with offset (RFC 3339)")
            )
        elif rec.status != "completed":
            errors.append(
                FieldError(
                    "/completed_at", "only a completed task has completed_at; set status to 'completed' or drop it"
                )
            )
    return errors


_CHECKS: dict[str, Any] = {
    "contacts": _check_contact,
    "companies": _check_company,
    "activities": _check_activity,
    "tasks": _check_task,
}


def validate_record(kind: str, data: Any) -> tuple[dict[str, Any] | None, list[FieldError]]:
    """Validate a full record body; returns the normalised record (defaults filled in) or the errors."""
    if not isinstance(data, dict):
        return None, [FieldError("", "the record must be a JSON object")]
    errors = [
        FieldError(pointer([k]), "read-only field set by the CRM; leave it out") for k in META_FIELDS if k in data
    ]
    body = {k: v for k, v in data.items() if k not in META_FIELDS}
    model = DATA_MODELS[kind]
    try:
        rec = model.model_validate(body)
    except ValidationError as err:
        return None, errors + _pydantic_errors(err, model)
    errors += _text_checks(body) + _check_common(rec) + _CHECKS[kind](rec)
    return (None, errors) if errors else (rec.model_dump(mode="json"), [])


def validate_patch(kind: str, current: dict[str, Any], patch: Any) -> tuple[dict[str, Any] | None, list[FieldError]]:
    """Validate ``current`` with ``patch`` applied, reporting only errors in what the patch touches."""
    if not isinstance(patch, dict):
        return None, [FieldError("", "the patch must be a JSON object of the fields to change")]
    merged = {**{k: v for k, v in current.items() if k not in META_FIELDS}, **patch}
    rec, errors = validate_record(kind, merged)
    touched = set(patch)
    for group in _GROUPS:
        if touched & group:
            touched |= group
    relevant = [e for e in errors if e.path.split("/")[1] in touched] if errors else []
    if errors and not relevant:
        # Only pre-existing bad data the patch does not touch: accept, keep it as it was.
        return merged, []
    return rec, relevant
