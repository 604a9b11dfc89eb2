"""A CRM activity and the canonical event, field by field: an activity read as a raw event
(``canonical_event`` takes it from there), a canonical event's time fields written as the CRM's
(which it checks together), and the exceptions a busy activity keeps."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from ..model.link import Canon
from ..model.wall_clock import BASIC_FMT, parse_local
from .models import Activity


def activity_raw(record: Activity, me: str) -> dict[str, Any]:
    """A CRM activity as a raw event dict (see ``canonical_event``); ``me`` is the running user's e-mail."""
    tz = record.time_zone
    if record.all_day:
        start: dict[str, str] = {"date": str(record.start_date)}
        last = date.fromisoformat(str(record.end_date or record.start_date))
        end: dict[str, str] = {"date": (last + timedelta(days=1)).isoformat()}  # inclusive -> exclusive
    else:
        start, end = {"local": str(record.start), "tz": str(tz)}, {"local": str(record.end), "tz": str(tz)}
    lines: list[str] = []
    if record.recurrence is not None:
        lines.append("RRULE:" + record.recurrence.rrule)
        for name, values in (("EXDATE", record.recurrence.exdates), ("RDATE", record.recurrence.rdates)):
            for v in values:
                if record.all_day:
                    lines.append(f"{name};VALUE=DATE:{v[:10].replace('-', '')}")
                else:
                    lines.append(f"{name};TZID={tz}:{parse_local(v).strftime(BASIC_FMT)}")
    return {
        "subject": record.subject,
        "description": record.description,
        "location": record.location,
        "all_day": record.all_day,
        "start": start,
        "end": end,
        "recurrence": lines,
        "exceptions": [_exception_raw(e.model_dump(), record.all_day) for e in record.exceptions],
        "attendees": [{"email": a.email, "response": a.response, "name": a.name} for a in record.attendees],
        "organizer": record.organizer_email or me,
        "private": record.private,
        "reminders": [{"method": r.method, "minutes": r.minutes_before} for r in record.reminders],
    }


def _exception_raw(entry: dict[str, Any], all_day: bool) -> dict[str, Any]:
    """A CRM occurrence exception as a raw one: an all-day exception's ``end`` is its last day,
    INCLUSIVE like the activity's ``end_date`` (the contract says so); canonical ends are exclusive."""
    if all_day and entry.get("end"):
        entry["end"] = (date.fromisoformat(str(entry["end"])[:10]) + timedelta(days=1)).isoformat()
    return entry


def _exception_end(entry: Canon, all_day: bool) -> str | None:
    """The CRM's ``end`` of a canonical exception (all-day: the inclusive last day)."""
    end = entry.get("end")
    if not all_day or not end:
        return end
    last = date.fromisoformat(str(end)) - timedelta(days=1)
    start = entry.get("start") or entry["value"]
    return max(last, date.fromisoformat(str(start)[:10])).isoformat()


def _occurrence(line: str, all_day: bool) -> str:
    value = line.rsplit(":", 1)[1]
    if all_day:
        return f"{value[:4]}-{value[4:6]}-{value[6:8]}"
    return datetime.strptime(value[:15], BASIC_FMT).strftime("%Y-%m-%dT%H:%M:%S")


def time_body(full: Canon) -> dict[str, Any]:
    """The CRM's time fields (checked together by the CRM) for a canonical event."""
    all_day = bool(full["all_day"])
    body: dict[str, Any] = {"all_day": all_day}
    if all_day:
        last = date.fromisoformat(full["end"]["date"]) - timedelta(days=1)
        body.update(start=None, end=None, time_zone=None, start_date=full["start"]["date"])
        body["end_date"] = max(last, date.fromisoformat(full["start"]["date"])).isoformat()
    else:
        body.update(start=full["start"]["local"], end=full["end"]["local"], time_zone=full["start"]["tz"])
        body.update(start_date=None, end_date=None)
    lines = full.get("recurrence") or []
    rules = [x.split(":", 1)[1] for x in lines if x.startswith("RRULE:")]
    if rules:
        exceptions = full.get("exceptions") or []
        body["recurrence"] = {
            "rrule": rules[0],
            "exdates": [e["value"] for e in exceptions if e["cancelled"]],  # a cancellation is an EXDATE
            "rdates": [_occurrence(x, all_day) for x in lines if x.startswith("RDATE")],
        }
        body["exceptions"] = [
            {"original_start": e["value"], **{k: e.get(k) for k in _EXC_FIELDS}, "end": _exception_end(e, all_day)}
            for e in exceptions
            if not e["cancelled"]
        ]
    else:
        body.update(recurrence=None, exceptions=[])
    return body


_EXC_FIELDS = ("start", "end", "subject", "description", "location")
_EXC_TEXTS = ("subject", "description", "location")


def keep_exception_texts(written: list[dict[str, Any]], current: Activity) -> list[dict[str, Any]]:
    """Exceptions to write into a busy activity: times from ``written``, titles and details from
    the CRM's ``current`` record (also of occurrences only retitled, which a busy block does not show)."""

    def key(value: str) -> str:
        return value[:10] if current.all_day else value[:19]

    have = {key(e.original_start): e for e in current.exceptions}
    out = []
    for entry in written:
        old = have.pop(key(str(entry["original_start"])), None)
        if old is not None and not entry.get("cancelled"):
            entry = {**entry, **{k: getattr(old, k) for k in _EXC_TEXTS}}
        out.append(entry)
    for old in have.values():
        if not old.cancelled and old.start is None and old.end is None and any(getattr(old, k) for k in _EXC_TEXTS):
            out.append(old.model_dump())
    return out
