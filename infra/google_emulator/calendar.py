"""Calendar API v3 routes: calendarList, calendars, events (+ seed/dump/expire_sync_tokens for controls).

Helpers: ``calendar_model`` (resources, validation), ``calendar_recurrence``
(RRULE expansion), ``calendar_store`` (per-account data, change log, tokens),
``calendar_series`` (instances, exceptions), ``calendar_ops`` (writes),
``calendar_listing`` (events.list / instances), ``calendar_transfer`` (events.move / import),
``calendar_quickadd`` (quickAdd's text parsing).
"""

from __future__ import annotations

import base64
import secrets
from typing import Any
from urllib.parse import unquote

from . import calendar_ops as ops
from . import calendar_quickadd, calendar_transfer
from .calendar_listing import list_events, list_instances
from .calendar_model import check_zone, etag
from .calendar_store import Cal, CalendarStore, make_page_token, read_page_token
from .core import (
    CALENDAR,
    SCOPE_CALENDAR,
    SCOPE_CALENDAR_EVENTS,
    SCOPE_CALENDAR_RO,
    SCOPE_CALENDARLIST_RO,
    Account,
    ApiError,
    Ctx,
    EmulatorState,
    route,
)
from .realism import page_limit, realism

_SCOPE_EVENTS_RO = "https://www.googleapis.com/auth/calendar.events.readonly"
EVENTS_READ = {SCOPE_CALENDAR, SCOPE_CALENDAR_RO, SCOPE_CALENDAR_EVENTS, _SCOPE_EVENTS_RO}
EVENTS_WRITE = {SCOPE_CALENDAR, SCOPE_CALENDAR_EVENTS}
LIST_READ = {
    SCOPE_CALENDAR,
    SCOPE_CALENDAR_RO,
    SCOPE_CALENDARLIST_RO,
    "https://www.googleapis.com/auth/calendar.calendarlist",
}
CAL_READ = {SCOPE_CALENDAR, SCOPE_CALENDAR_RO}
CAL_WRITE = {SCOPE_CALENDAR}
BASE = "/calendar/v3"


def _store(account: Account, state: EmulatorState) -> CalendarStore:
    store = account.store("calendar", CalendarStore)
    store.ensure_primary(account.email, state)
    off_rule = realism(state, account.email).off_rule_start
    for cal in store.calendars.values():
        cal.off_rule = off_rule
    return store


def _cal(ctx: Ctx) -> tuple[CalendarStore, Cal]:
    store = _store(ctx.acct, ctx.state)
    return store, store.resolve(unquote(ctx.path_params["calendarId"]), ctx.acct.email, ctx.state)


def _write(ctx: Ctx, method: str) -> ops.Write:
    store, cal = _cal(ctx)
    send = ctx.param("sendUpdates")
    if send is None and ctx.param("sendNotifications") is not None:
        send = "all" if ctx.bool_param("sendNotifications") else "none"
    return ops.Write(ctx.state, store, cal, ctx.acct.email, send, method)


# --------------------------------------------------------------------------- calendarList / calendars


def _calendar(cal: Cal) -> dict[str, Any]:
    out: dict[str, Any] = {"kind": "calendar#calendar", "etag": etag(cal.seq), "id": cal.id, "summary": cal.summary}
    if cal.description:
        out["description"] = cal.description
    if cal.location:
        out["location"] = cal.location
    out["timeZone"] = cal.time_zone
    out["conferenceProperties"] = {"allowedConferenceSolutionTypes": ["hangoutsMeet"]}
    return out


def _entry(cal: Cal) -> dict[str, Any]:
    out = {**_calendar(cal), "kind": "calendar#calendarListEntry"}
    out.pop("conferenceProperties")
    out.update(
        colorId="14" if cal.primary else "7",
        backgroundColor="#9fe1e7" if cal.primary else "#42d692",
        foregroundColor="#000000",
        selected=True,
        accessRole="owner",
        defaultReminders=[{"method": "popup", "minutes": 10}] if cal.primary else [],
        conferenceProperties={"allowedConferenceSolutionTypes": ["hangoutsMeet"]},
    )
    if cal.primary:
        out["primary"] = True
        out["notificationSettings"] = {"notifications": [{"type": "eventCreation", "method": "email"}]}
    return out


@route("GET", BASE + "/users/me/calendarList", api=CALENDAR, method_id="calendar.calendarList.list", scopes=LIST_READ)
def calendar_list(ctx: Ctx) -> dict[str, Any]:
    """calendarList.list: the primary calendar first, then others in creation order; 250 per page at most."""
    store = _store(ctx.acct, ctx.state)
    size = ctx.int_param("maxResults", 100, low=1, high=250)
    since = 0
    if ctx.param("syncToken"):
        data = read_page_token(ctx.param("syncToken") or "", "calendarList")
        if data.get("n") != store.nonce or data.get("g") != store.token_generation:
            raise ApiError(410, "Sync token is no longer valid, a full sync is required.", reason="fullSyncRequired")
        since = int(data["s"])
    cursor = read_page_token(ctx.param("pageToken") or "", "calendarList") if ctx.param("pageToken") else {}
    start, number = int(cursor.get("o", 0)), int(cursor.get("pn", 0))
    size = page_limit(ctx, size, number)  # short or empty pages when asked (realism.py)
    cals = sorted(store.calendars.values(), key=lambda c: (not c.primary, c.seq))
    cals = [c for c in cals if c.seq > since]
    page = cals[start : start + size]
    out: dict[str, Any] = {
        "kind": "calendar#calendarList",
        "etag": etag(max(c.seq for c in store.calendars.values())),
        "items": [_entry(c) for c in page],
    }
    if start + size < len(cals):
        out["nextPageToken"] = make_page_token({"o": start + size, "pn": number + 1, "h": "calendarList"})
    else:
        top = max(c.seq for c in store.calendars.values())
        out["nextSyncToken"] = make_page_token(
            {"n": store.nonce, "g": store.token_generation, "s": top, "h": "calendarList"}
        )
    return out


@route(
    "GET",
    BASE + "/users/me/calendarList/{calendarId}",
    api=CALENDAR,
    method_id="calendar.calendarList.get",
    scopes=LIST_READ,
)
def calendar_list_get(ctx: Ctx) -> dict[str, Any]:
    """calendarList.get."""
    return _entry(_cal(ctx)[1])


@route("POST", BASE + "/calendars", api=CALENDAR, method_id="calendar.calendars.insert", scopes=CAL_WRITE)
def calendars_insert(ctx: Ctx) -> dict[str, Any]:
    """calendars.insert: a secondary calendar owned by the account (summary required)."""
    body = ctx.json()
    store = _store(ctx.acct, ctx.state)
    return _calendar(create_calendar(store, ctx.state, body))


def create_calendar(store: CalendarStore, state: EmulatorState, body: dict[str, Any]) -> Cal:
    """Validate and add a secondary calendar."""
    summary = body.get("summary")
    if not isinstance(summary, str) or not summary.strip():
        raise ApiError(400, "Missing summary.", reason="required", location="summary")
    tz = body.get("timeZone") or "UTC"
    check_zone(tz, "the calendar")
    cid = base64.b32hexencode(secrets.token_bytes(20)).decode().lower() + "@group.calendar.google.com"
    seq = state.next_id()
    cal = Cal(
        id=cid,
        summary=summary,
        time_zone=tz,
        description=body.get("description"),
        location=body.get("location"),
        seq=seq,
        last_seq=seq,
    )
    cal.updated = state.clock.now()
    store.calendars[cid] = cal
    return cal


@route("GET", BASE + "/calendars/{calendarId}", api=CALENDAR, method_id="calendar.calendars.get", scopes=CAL_READ)
def calendars_get(ctx: Ctx) -> dict[str, Any]:
    """calendars.get (``primary`` aliases the account's calendar)."""
    return _calendar(_cal(ctx)[1])


@route(
    "DELETE", BASE + "/calendars/{calendarId}", api=CALENDAR, method_id="calendar.calendars.delete", scopes=CAL_WRITE
)
def calendars_delete(ctx: Ctx) -> tuple[int, None]:
    """calendars.delete: a secondary calendar and its events; the primary one cannot be deleted (use clear)."""
    store, cal = _cal(ctx)
    if cal.primary:
        raise ApiError(400, "The primary calendar cannot be deleted; use calendars.clear.", reason="invalid")
    del store.calendars[cal.id]
    return 204, None


# --------------------------------------------------------------------------- events


@route(
    "GET", BASE + "/calendars/{calendarId}/events", api=CALENDAR, method_id="calendar.events.list", scopes=EVENTS_READ
)
def events_list(ctx: Ctx) -> dict[str, Any]:
    """events.list."""
    store, cal = _cal(ctx)
    return list_events(ctx, store, cal)


@route(
    "POST",
    BASE + "/calendars/{calendarId}/events",
    api=CALENDAR,
    method_id="calendar.events.insert",
    scopes=EVENTS_WRITE,
)
def events_insert(ctx: Ctx) -> dict[str, Any]:
    """events.insert."""
    return ops.insert(_write(ctx, "insert"), ctx.json())


@route(
    "GET",
    BASE + "/calendars/{calendarId}/events/{eventId}/instances",
    api=CALENDAR,
    method_id="calendar.events.instances",
    scopes=EVENTS_READ,
)
def events_instances(ctx: Ctx) -> dict[str, Any]:
    """events.instances."""
    cal = _cal(ctx)[1]
    master = cal.events.get(unquote(ctx.path_params["eventId"]))
    if master is None:
        raise ApiError(404, "Not Found", reason="notFound")
    return list_instances(ctx, cal, master)


@route(
    "GET",
    BASE + "/calendars/{calendarId}/events/{eventId}",
    api=CALENDAR,
    method_id="calendar.events.get",
    scopes=EVENTS_READ,
)
def events_get(ctx: Ctx) -> dict[str, Any]:
    """events.get."""
    return ops.get(_cal(ctx)[1], unquote(ctx.path_params["eventId"]))


@route(
    "PATCH",
    BASE + "/calendars/{calendarId}/events/{eventId}",
    api=CALENDAR,
    method_id="calendar.events.patch",
    scopes=EVENTS_WRITE,
)
def events_patch(ctx: Ctx) -> dict[str, Any]:
    """events.patch: merge the given fields."""
    w = _write(ctx, "patch")
    return ops.change(
        w, unquote(ctx.path_params["eventId"]), ctx.json(), replace=False, if_match=ctx.headers.get("if-match")
    )


@route(
    "PUT",
    BASE + "/calendars/{calendarId}/events/{eventId}",
    api=CALENDAR,
    method_id="calendar.events.update",
    scopes=EVENTS_WRITE,
)
def events_update(ctx: Ctx) -> dict[str, Any]:
    """events.update: replace the writable fields."""
    w = _write(ctx, "update")
    return ops.change(
        w, unquote(ctx.path_params["eventId"]), ctx.json(), replace=True, if_match=ctx.headers.get("if-match")
    )


@route(
    "DELETE",
    BASE + "/calendars/{calendarId}/events/{eventId}",
    api=CALENDAR,
    method_id="calendar.events.delete",
    scopes=EVENTS_WRITE,
)
def events_delete(ctx: Ctx) -> tuple[int, None]:
    """events.delete."""
    ops.delete(_write(ctx, "delete"), unquote(ctx.path_params["eventId"]), if_match=ctx.headers.get("if-match"))
    return 204, None


@route(
    "POST",
    BASE + "/calendars/{calendarId}/events/import",
    api=CALENDAR,
    method_id="calendar.events.import",
    scopes=EVENTS_WRITE,
)
def events_import(ctx: Ctx) -> dict[str, Any]:
    """events.import: a private copy keyed by iCalUID (no invitation e-mails; the method has no sendUpdates)."""
    store, cal = _cal(ctx)
    return calendar_transfer.import_event(
        ops.Write(ctx.state, store, cal, ctx.acct.email, "none", "import"), ctx.json()
    )


@route(
    "POST",
    BASE + "/calendars/{calendarId}/events/quickAdd",
    api=CALENDAR,
    method_id="calendar.events.quickAdd",
    scopes=EVENTS_WRITE,
)
def events_quick_add(ctx: Ctx) -> dict[str, Any]:
    """events.quickAdd: an event parsed from ``text`` (see calendar_quickadd for what is understood)."""
    w = _write(ctx, "quickAdd")
    text = ctx.param("text")
    if text is None or not text.strip():
        raise ApiError(400, "Required parameter: text", reason="required", location="text")
    return ops.insert(w, calendar_quickadd.parse(text, w.now, w.cal.time_zone))


@route(
    "POST",
    BASE + "/calendars/{calendarId}/events/{eventId}/move",
    api=CALENDAR,
    method_id="calendar.events.move",
    scopes=EVENTS_WRITE,
)
def events_move(ctx: Ctx) -> dict[str, Any]:
    """events.move: to the ``destination`` calendar (a series moves with its exceptions; instances cannot)."""
    src = _write(ctx, "move")
    destination = ctx.param("destination")
    if not destination:
        raise ApiError(400, "Required parameter: destination", reason="required", location="destination")
    dst_cal = src.store.resolve(destination, ctx.acct.email, ctx.state)
    dst = ops.Write(ctx.state, src.store, dst_cal, ctx.acct.email, src.send_updates, "move")
    return calendar_transfer.move(src, dst, unquote(ctx.path_params["eventId"]))


# --------------------------------------------------------------------------- controls


def _find_or_create(store: CalendarStore, state: EmulatorState, email: str, key: str) -> Cal:
    if key == "primary" or key.lower() == email:
        return store.ensure_primary(email, state)
    for cal in store.calendars.values():
        if key in (cal.id, cal.summary):
            return cal
    return create_calendar(store, state, {"summary": key})


def seed(account: Account, state: EmulatorState, data: dict[str, Any]) -> dict[str, Any]:
    """Load ``{"calendars": {"primary"|summary|id: [Event...]}}`` (no invitation e-mails); returns counts."""
    store = _store(account, state)
    calendars = data.get("calendars", {})
    if not isinstance(calendars, dict):
        raise ApiError(400, 'Seed data must look like {"calendars": {"primary": [Event, ...]}}.')
    counts: dict[str, int] = {}
    with state.lock:
        for key, events in calendars.items():
            if not isinstance(events, list) or not all(isinstance(e, dict) for e in events):
                raise ApiError(400, f"Seed data calendars[{key!r}] must be a list of Event objects.")
            cal = _find_or_create(store, state, account.email, key)
            w = ops.Write(state, store, cal, account.email, "none", "seed")
            # Series before their exceptions, whatever order the seed lists them in.
            for body in sorted(events, key=lambda e: bool(e.get("recurringEventId"))):
                try:
                    ops.insert(w, body, seed=True)
                except ApiError as err:
                    raise ApiError(
                        err.code,
                        f"Seed event {body.get('id') or body.get('summary')!r} in {key!r}: {err.message}",
                        reason=err.reason,
                    ) from err
            counts[key] = len(events)
    return {"calendars": counts}


def dump(account: Account, state: EmulatorState) -> dict[str, Any]:
    """Every stored event per calendar (primary as "primary", others by summary) plus invitation e-mail counts."""
    store = _store(account, state)
    with state.lock:
        out: dict[str, Any] = {}
        for cal in store.calendars.values():
            out["primary" if cal.primary else cal.summary] = list(cal.events.values())
        return {
            "calendars": out,
            "invitationEmailsSent": store.invitations_sent,
            "invitationLog": list(store.invitation_log),
        }


def expire_sync_tokens(account: Account, state: EmulatorState) -> None:
    """Invalidate every sync token issued for the account (next use answers 410 fullSyncRequired)."""
    with state.lock:
        _store(account, state).token_generation += 1
