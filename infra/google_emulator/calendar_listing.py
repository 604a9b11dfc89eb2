"""events.list and events.instances: filters, paging, sync tokens, expansion of series.

Three walks, one page each:
- ``sync``: changes after a sync token, in change order (deletions always included);
- ``log``: a full listing without ordering, in change order up to the change seen
  on the first page (later changes come with the next sync);
- ``sorted``: singleEvents or orderBy listings, sorted by (startTime|updated, id)
  with a key cursor (cost O(matching events) per page).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from . import calendar_recurrence as rec
from .calendar_model import Span, cancelled_view, tombstone
from .calendar_series import Item, expand, is_master, series_overlaps
from .calendar_store import Cal, CalendarStore, make_page_token, make_sync_token, read_page_token, read_sync_token
from .core import ApiError, Ctx, parse_rfc3339, rfc3339
from .realism import page_limit

# How far back updatedMin may reach (not published: public reports say about 30 days). Setting
# ``calendar_updated_min_days`` changes it; 0 switches the check off.
UPDATED_MIN_DAYS = 30
SYNC_FORBIDDEN = (
    "iCalUID",
    "orderBy",
    "privateExtendedProperty",
    "q",
    "sharedExtendedProperty",
    "timeMin",
    "timeMax",
    "updatedMin",
)


class Query:
    """The parsed, validated parameters of an events listing."""

    def __init__(self, ctx: Ctx, *, instances: bool = False) -> None:
        self.max_results = ctx.int_param("maxResults", 250, low=1, high=2500)
        self.single = True if instances else ctx.bool_param("singleEvents")
        self.show_deleted = ctx.bool_param("showDeleted")
        self.sync_token = None if instances else ctx.param("syncToken")
        self.order_by = ctx.param("orderBy")
        if self.order_by not in (None, "startTime", "updated"):
            raise ApiError(
                400, f"Invalid value for orderBy: {self.order_by!r} (startTime or updated).", location="orderBy"
            )
        if self.order_by == "startTime" and not self.single:
            raise ApiError(
                400,
                "The requested ordering is not available for the particular query (orderBy=startTime needs singleEvents=true).",
                location="orderBy",
            )
        if self.sync_token is not None:
            for name in SYNC_FORBIDDEN:
                if ctx.param(name) is not None:
                    raise ApiError(
                        400,
                        f"The {name} parameter cannot be used together with syncToken; drop it or do a full sync without syncToken.",
                        location=name,
                    )
        self.time_min = parse_rfc3339(ctx.param("timeMin") or "", "timeMin") if ctx.param("timeMin") else None
        self.time_max = parse_rfc3339(ctx.param("timeMax") or "", "timeMax") if ctx.param("timeMax") else None
        if self.time_min and self.time_max and self.time_max <= self.time_min:
            raise ApiError(
                400,
                "The specified time range is empty.",
                reason="timeRangeEmpty",
                domain="calendar",
                location="timeMax",
            )
        if self.sync_token is not None and ctx.param("showDeleted") is not None and not self.show_deleted:
            # events.list: "Deleted events since the previous list request will always be in the result
            # set and it is not allowed to set showDeleted to False" with a syncToken.
            raise ApiError(
                400,
                "showDeleted cannot be false together with syncToken: deleted events are always included.",
                location="showDeleted",
            )
        updated_min = parse_rfc3339(ctx.param("updatedMin") or "", "updatedMin") if ctx.param("updatedMin") else None
        days = ctx.state.extras.get("calendar_updated_min_days", UPDATED_MIN_DAYS)
        if updated_min is not None and days and updated_min < ctx.now() - timedelta(days=days):
            raise ApiError(
                410,
                "The requested minimum modification time lies too far in the past.",
                reason="updatedMinTooLongAgo",
                domain="calendar",
                location="updatedMin",
            )
        self.updated_min = rfc3339(updated_min) if updated_min is not None else None
        self.ical = ctx.param("iCalUID")
        self.private = [_kv(v, "privateExtendedProperty") for v in ctx.params("privateExtendedProperty")]
        self.shared = [_kv(v, "sharedExtendedProperty") for v in ctx.params("sharedExtendedProperty")]
        self.words = (ctx.param("q") or "").lower().split()
        self.event_types = set(ctx.params("eventTypes"))
        self.original_start = ctx.param("originalStart") if instances else None
        self.hash = hashlib.sha1(
            repr(
                sorted((k, v) for k, v in ctx.query.items() if k not in ("pageToken", "maxResults", "syncToken"))
            ).encode()
        ).hexdigest()[:16]
        now = ctx.now()
        self.hi = self.time_max or rec.horizon(ctx.state.extras, max(now, self.time_min or now))

    def matches(self, ev: dict[str, Any]) -> bool:
        """Field filters (not time) on a live event."""
        if self.ical is not None and ev.get("iCalUID") != self.ical:
            return False
        if self.updated_min is not None and ev["updated"] < self.updated_min:
            return False
        if self.event_types and ev.get("eventType", "default") not in self.event_types:
            return False
        ext = ev.get("extendedProperties", {})
        for scope, pairs in (("private", self.private), ("shared", self.shared)):
            props = ext.get(scope, {})
            if any(props.get(k) != v for k, v in pairs):
                return False
        if self.words:
            hay = " ".join(
                [
                    ev.get("summary", ""),
                    ev.get("description", ""),
                    ev.get("location", ""),
                    ev.get("organizer", {}).get("email", ""),
                ]
                + [f"{a.get('email', '')} {a.get('displayName', '')}" for a in ev.get("attendees", [])]
            ).lower()
            if not all(w in hay for w in self.words):
                return False
        return True

    def deleted_visible(self, ev: dict[str, Any]) -> bool:
        """Cancelled items show with showDeleted, or when updatedMin asks for changes since a time."""
        return self.show_deleted or (self.updated_min is not None and ev["updated"] >= self.updated_min)

    def in_window(self, span: Span) -> bool:
        return (self.time_min is None or span.end > self.time_min) and (
            self.time_max is None or span.start < self.time_max
        )


def _kv(value: str, name: str) -> tuple[str, str]:
    key, sep, val = value.partition("=")
    if not sep or not key:
        raise ApiError(400, f"Invalid value for {name}: {value!r} (expected propertyName=value).", location=name)
    return key, val


def _listing_items(cal: Cal, ev: dict[str, Any], span: Span, q: Query) -> list[Item]:
    """What one stored event contributes to a full (non-sync) listing."""
    cancelled = ev.get("status") == "cancelled"
    if "recurringEventId" in ev and q.single:
        return []  # exceptions come with their series' expansion
    if q.single and is_master(ev):
        if cancelled and not q.deleted_visible(ev):
            return []
        return [
            (e, s)
            for e, s in expand(cal, ev, q.time_min, q.hi, show_deleted=q.deleted_visible(ev))
            if e.get("status") == "cancelled" or q.matches(e)
        ]
    if not q.matches(ev):
        return []
    if cancelled:
        if q.deleted_visible(ev) and q.in_window(span):
            return [(cancelled_view(ev, details=q.show_deleted), span)]
        if "recurringEventId" in ev and _series_live(cal, ev) and q.in_window(span):
            # Google: "Cancelled instances of recurring events (but not the underlying recurring
            # event) will still be included if showDeleted and singleEvents are both False."
            return [(tombstone(ev), span)]
        return []
    if is_master(ev):
        return [(ev, span)] if series_overlaps(cal, ev, q.time_min, q.time_max) else []
    return [(ev, span)] if q.in_window(span) else []


def _sync_items(cal: Cal, ev: dict[str, Any], span: Span, q: Query) -> list[Item]:
    """What one changed event contributes to a sync-token listing (deletions always)."""
    if (
        q.single
        and "recurringEventId" in ev
        and cal.events.get(ev["recurringEventId"], {}).get("status") == "cancelled"
    ):
        return [(tombstone(ev), span)]
    if q.single and is_master(ev):
        # A changed series re-sends its unmodified instances; stored exceptions come with their own
        # log entries (every change to one is logged), so they are not repeated here.
        cancelled = ev.get("status") == "cancelled"
        return [
            (e, s)
            for e, s in expand(cal, ev, None, q.hi, show_deleted=True, tombstones_only=cancelled)
            if e["id"] not in cal.events
        ]
    if ev.get("status") == "cancelled":
        return [(cancelled_view(ev, details=q.show_deleted), span)]
    return [(ev, span)]


def _series_live(cal: Cal, ev: dict[str, Any]) -> bool:
    master = cal.events.get(ev["recurringEventId"])
    return master is not None and master.get("status") != "cancelled"


def _page_log(
    cal: Cal, q: Query, after: int, skip: int, upto: int, sync: bool
) -> tuple[list[dict[str, Any]], tuple[int, int] | None]:
    """One page in change order; the cursor is (resume after seq, items to skip of the next entry)."""
    items: list[dict[str, Any]] = []
    for seq, eid in cal.entries(after, upto):
        ev, span = cal.events[eid], cal.spans[eid]
        produced = _sync_items(cal, ev, span, q) if sync else _listing_items(cal, ev, span, q)
        offset = skip if skip and seq == after + 1 else 0
        produced = produced[offset:]
        room = q.max_results - len(items)
        if len(produced) > room:
            items.extend(e for e, _ in produced[:room])
            return items, (seq - 1, offset + room)
        items.extend(e for e, _ in produced)
        if len(items) == q.max_results:
            return items, (seq, 0)
    return items, None


def _sorted_all(cal: Cal, q: Query) -> list[tuple[tuple[str, str], dict[str, Any]]]:
    rows: list[tuple[tuple[str, str], dict[str, Any]]] = []
    for eid, ev in cal.events.items():
        for item, span in _listing_items(cal, ev, cal.spans[eid], q):
            # Ties on "updated" (same millisecond) break by change order, like a real change log.
            key = (
                f"{item.get('updated', '')}#{cal.seq_of[eid]:020d}"
                if q.order_by == "updated"
                else span.start.isoformat()
            )
            rows.append(((key, item["id"]), item))
    rows.sort(key=lambda r: r[0])
    return rows


def _page_sorted(
    rows: Iterable[tuple[tuple[str, str], dict[str, Any]]], after: tuple[str, str] | None, limit: int
) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """One page after the key ``after``; the resume cursor ({"k": last key shown}) while more remain."""
    items: list[dict[str, Any]] = []
    last = after
    for key, item in rows:
        if after is not None and key <= after:
            continue
        if len(items) == limit:
            return items, {"k": list(last) if last else None}
        items.append(item)
        last = key
    return items, None


def _sorted_after(cursor: dict[str, Any] | None) -> tuple[str, str] | None:
    return (str(cursor["k"][0]), str(cursor["k"][1])) if cursor and cursor.get("k") else None


def list_events(ctx: Ctx, store: CalendarStore, cal: Cal) -> dict[str, Any]:
    """The events.list response for ``cal``."""
    q = Query(ctx)
    page_token = ctx.param("pageToken")
    cursor = read_page_token(page_token, q.hash) if page_token else None
    if cursor is not None:
        upto, mode = int(cursor["u"]), cursor["m"]
    else:
        upto = cal.last_seq
        mode = "sync" if q.sync_token is not None else ("sorted" if q.single or q.order_by else "log")
    since = read_sync_token(q.sync_token, store, cal, q.single, ctx.state) if q.sync_token is not None else 0
    number = int(cursor.get("n", 0)) if cursor else 0
    q.max_results = page_limit(ctx, q.max_results, number)  # short or empty pages when asked (realism.py)
    next_cursor: dict[str, Any] | None = None
    if mode == "sorted":
        items, resume = _page_sorted(_sorted_all(cal, q), _sorted_after(cursor), q.max_results)
        if resume is not None:
            next_cursor = {"m": mode, "u": upto, **resume}
    else:
        after, skip = (int(cursor["a"]), int(cursor["i"])) if cursor else (since, 0)
        items, pos = _page_log(cal, q, after, skip, upto, mode == "sync")
        if pos is not None and (pos[1] or next(cal.entries(pos[0], upto), None) is not None):
            next_cursor = {"m": mode, "u": upto, "a": pos[0], "i": pos[1]}
    out: dict[str, Any] = {
        "kind": "calendar#events",
        "etag": cal.etag(),
        "summary": cal.summary,
        "updated": rfc3339(cal.updated),
        "timeZone": cal.time_zone,
        "accessRole": "owner",
        "defaultReminders": [{"method": "popup", "minutes": 10}] if cal.primary else [],
        "items": items,
    }
    if cal.description:
        out["description"] = cal.description
    if next_cursor is not None:
        out["nextPageToken"] = make_page_token({**next_cursor, "h": q.hash, "n": number + 1})
    else:
        out["nextSyncToken"] = make_sync_token(store, cal, upto, q.single, ctx.now())
    return out


def list_instances(ctx: Ctx, cal: Cal, master: dict[str, Any]) -> dict[str, Any]:
    """The events.instances response: a series' occurrences (timeMin here is inclusive on end)."""
    q = Query(ctx, instances=True)
    lo = q.time_min
    items_spans = (
        expand(cal, master, None, q.hi, show_deleted=q.show_deleted)
        if is_master(master)
        else [(master, cal.spans[master["id"]])]
    )
    rows = []
    for ev, span in items_spans:
        if lo is not None and span.end < lo:
            continue
        if (
            q.original_start is not None
            and ev.get("originalStartTime", {}).get("dateTime", ev.get("originalStartTime", {}).get("date"))
            != q.original_start
        ):
            continue
        rows.append(((span.start.isoformat(), ev["id"]), ev))
    rows.sort(key=lambda r: r[0])
    page_token = ctx.param("pageToken")
    cursor = read_page_token(page_token, q.hash) if page_token else None
    number = int(cursor.get("n", 0)) if cursor else 0
    items, resume = _page_sorted(rows, _sorted_after(cursor), page_limit(ctx, q.max_results, number))
    out: dict[str, Any] = {
        "kind": "calendar#events",
        "etag": master["etag"],
        "summary": cal.summary,
        "updated": master["updated"],
        "timeZone": cal.time_zone,
        "accessRole": "owner",
        "defaultReminders": [{"method": "popup", "minutes": 10}] if cal.primary else [],
        "items": items,
    }
    if resume is not None:
        out["nextPageToken"] = make_page_token({"m": "inst", **resume, "h": q.hash, "n": number + 1})
    return out
