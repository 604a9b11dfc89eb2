"""Recurring series on top of the store: instance ids, virtual instances and exceptions."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from . import calendar_recurrence as rec
from .calendar_model import INSTANCE_ID_RE, Span, html_link, tombstone, utc_stamp, when_json, zone
from .calendar_store import Cal

Item = tuple[dict[str, Any], Span]


def is_master(ev: dict[str, Any]) -> bool:
    """Whether a stored event is a recurring series master."""
    return bool(ev.get("recurrence"))


def _instance_times(
    master: dict[str, Any], span: Span, original: datetime | date, cal_tz: str
) -> tuple[dict[str, str], dict[str, str], Span]:
    if span.all_day:
        assert isinstance(original, date)
        end_day = original + (span.local_end - span.local_start)  # type: ignore[operator]
        ctz = zone(cal_tz) or UTC
        s_utc = datetime(original.year, original.month, original.day, tzinfo=ctz).astimezone(UTC)
        e_utc = datetime(end_day.year, end_day.month, end_day.day, tzinfo=ctz).astimezone(UTC)
        return (
            {"date": original.isoformat()},
            {"date": end_day.isoformat()},
            Span(s_utc, e_utc, True, span.tz, original, end_day),
        )
    assert isinstance(original, datetime)
    s_utc = original.astimezone(UTC)
    e_utc = s_utc + (span.end - span.start)
    end_tz = master["end"].get("timeZone")
    local_end = e_utc.astimezone(zone(end_tz) if end_tz else original.tzinfo)
    start_json = when_json(original, master["start"].get("timeZone"))
    return start_json, when_json(local_end, end_tz), Span(s_utc, e_utc, False, span.tz, original, local_end)


def virtual_instance(cal: Cal, master: dict[str, Any], original: datetime | date) -> Item:
    """An unmodified occurrence of ``master`` as the API shows it."""
    span = cal.spans[master["id"]]
    start, end, ispan = _instance_times(master, span, original, cal.time_zone)
    iid = f"{master['id']}_{utc_stamp(original)}"
    ev = {k: v for k, v in master.items() if k != "recurrence"}
    ev.update(
        id=iid,
        start=start,
        end=end,
        recurringEventId=master["id"],
        originalStartTime=start,
        htmlLink=html_link(iid, cal.id),
    )
    return ev, ispan


def find_instance(cal: Cal, event_id: str) -> tuple[dict[str, Any], datetime | date] | None:
    """For an instance id that is not stored: its series master and original start, if it is an occurrence."""
    m = INSTANCE_ID_RE.match(event_id)
    if not m:
        return None
    master = cal.events.get(m["series"])
    if master is None or not is_master(master):
        return None
    span = cal.spans[master["id"]]
    original = rec.parse_stamp(m["stamp"], span)
    if original is None or not rec.contains(master["recurrence"], span, original, cal.off_rule):
        return None
    return master, original


def expand(
    cal: Cal,
    master: dict[str, Any],
    lo: datetime | None,
    hi: datetime,
    *,
    show_deleted: bool,
    tombstones_only: bool = False,
) -> list[Item]:
    """Instances of a series overlapping (lo, hi): unmodified occurrences plus stored exceptions.

    Cancelled exceptions (and every instance of a cancelled series) appear only as
    tombstones and only with ``show_deleted``."""
    span = cal.spans[master["id"]]
    exc_ids = cal.exceptions.get(master["id"], {})
    cancelled_series = master.get("status") == "cancelled"
    items: list[Item] = []
    if not cancelled_series or show_deleted:
        for original, _s, _e in rec.occurrences(
            master["recurrence"], span, cal.time_zone, lo, hi, off_rule=cal.off_rule
        ):
            iid = f"{master['id']}_{utc_stamp(original)}"
            if iid in exc_ids:
                continue
            ev, ispan = virtual_instance(cal, master, original)
            items.append((tombstone(ev) if cancelled_series or tombstones_only else ev, ispan))
    for xid in exc_ids:
        x, xspan = cal.events[xid], cal.spans[xid]
        if (lo is not None and xspan.end <= lo) or xspan.start >= hi:
            continue
        if x.get("status") == "cancelled" or cancelled_series or tombstones_only:
            if show_deleted:
                items.append((tombstone(x), xspan))
        else:
            items.append((x, xspan))
    return items


def orphaned_exceptions(cal: Cal, master: dict[str, Any], span: Span) -> list[dict[str, Any]]:
    """Live exceptions whose original start is no longer an occurrence of the (changed) series."""
    out = []
    for xid in cal.exceptions.get(master["id"], {}):
        x = cal.events[xid]
        if x.get("status") == "cancelled":
            continue
        m = INSTANCE_ID_RE.match(xid)
        original = rec.parse_stamp(m["stamp"], span) if m else None
        if (
            not is_master(master)
            or original is None
            or not rec.contains(master["recurrence"], span, original, cal.off_rule)
        ):
            out.append(x)
    return out


def series_overlaps(cal: Cal, master: dict[str, Any], lo: datetime | None, hi: datetime | None) -> bool:
    """Whether any occurrence of a series ends after ``lo`` and starts before ``hi``; with no
    bounds, always (a listing without a time filter shows every series, even one whose
    occurrences are all excluded)."""
    if lo is None and hi is None:
        return True
    span = cal.spans[master["id"]]
    upper = hi or datetime(9999, 1, 1, tzinfo=UTC)
    return (
        next(
            iter(rec.occurrences(master["recurrence"], span, cal.time_zone, lo, upper, cap=1, off_rule=cal.off_rule)),
            None,
        )
        is not None
    )
