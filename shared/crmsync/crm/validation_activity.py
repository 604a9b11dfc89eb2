"""Activity checks: all-day versus timed fields, the time zone, and the recurrence with its exceptions."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from dateutil.rrule import rrulestr

from .models import ActivityData
from .validation_formats import FieldError, is_email, is_time_zone, parse_date, parse_local_datetime


def check_activity(rec: ActivityData) -> list[FieldError]:
    """Errors in an activity: subject, start/end or dates, time zone, recurrence, attendees and reminders."""
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
