"""Batched event writes of the Calendar side: inserts (series first, then their exceptions),
PATCHes with If-Match, deletes. Written against ``CalendarHost``, what they need of the side
(``calendar.GoogleCalendar``), so this module does not import it back."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from ..model.event import EventOptions
from ..model.field_mapping import MappedFields
from ..model.link import Canon
from ..ports import WriteOp, WriteResult
from . import calendar_custom
from .batch import BatchRunner, Call, Outcome
from .calendar_mapping import (
    CONNECTION_PROP,
    CRM_ID_PROP,
    Event,
    Series,
    crm_id_of,
    event_canon,
    event_id,
    insert_body,
    instance_body,
    instance_id,
    keep_attendees,
    patch_body,
    when_body,
)
from .errors import NotFound
from .write_results import delete_results, error_result, gone_since_read, is_duplicate


class CalendarHost(Protocol):
    """What the writes need of the Calendar side (``calendar.GoogleCalendar`` is one)."""

    connection_id: str
    me: str
    options: EventOptions
    mapped: MappedFields
    runner: BatchRunner
    seen: dict[str, Event]

    @property
    def events(self) -> Any: ...

    @property
    def write_calendar(self) -> str: ...

    def gid(self, cal: str, eid: str) -> str: ...

    def split(self, gid: str) -> tuple[str, str]: ...

    def tz(self, cal: str) -> str: ...

    def canon(self, master: Event, instances: list[Event], cal: str) -> Canon: ...

    def fetch_series(self, cal: str, ids: Sequence[str]) -> dict[str, Series]: ...


def _send(g: CalendarHost) -> dict[str, str]:
    return {"sendUpdates": g.options.send_updates}


def our_id(g: CalendarHost, crm_id: str) -> str:
    """The event id we insert the CRM record ``crm_id`` under."""
    return event_id(g.connection_id, crm_id)


def _insert_body(g: CalendarHost, op: WriteOp) -> Event:
    """The events.insert body for one create."""
    body = insert_body(op.full, our_id(g, str(op.crm_id)), str(op.crm_id), g.connection_id)
    for scope, props in calendar_custom.properties(op.full, g.mapped).items():
        kept = {k: v for k, v in props.items() if v is not None}
        body["extendedProperties"][scope] = {**body["extendedProperties"].get(scope, {}), **kept}
    body.update({k: v for k, v in calendar_custom.choices(op.full, g.mapped).items() if v is not None})
    return body


def _patch_body(g: CalendarHost, op: WriteOp, current: Event | None = None) -> Event:
    """The PATCH body for one update; attendees laid over ``current`` (the event as Google
    holds it), so names, optional flags, rooms and the organizer's entry stay as they were."""
    body = patch_body(op.fields, op.full)
    custom_props = calendar_custom.properties(op.fields, g.mapped)
    if op.crm_id is not None:  # the pair was re-created in the CRM: the event carries its new id
        private = {**custom_props.get("private", {}), CRM_ID_PROP: op.crm_id, CONNECTION_PROP: g.connection_id}
        custom_props = {**custom_props, "private": private}
    if custom_props:
        body["extendedProperties"] = custom_props
    body.update(calendar_custom.choices(op.fields, g.mapped))
    if "attendees" in body and current is not None:
        body["attendees"] = keep_attendees(body["attendees"], current.get("attendees") or [])
    return body


def _exception_calls(g: CalendarHost, cal: str, eid: str, full: Canon, current: Canon | None) -> list[tuple[str, Call]]:
    """Instance writes turning the series' exceptions in Google (``current``) into ``full``'s."""
    events = g.events
    want = {e["value"]: e for e in full.get("exceptions") or []}
    have = {e["value"]: e for e in (current or {}).get("exceptions") or []}
    calls: list[tuple[str, Call]] = []
    for key in sorted(set(want) | set(have)):
        entry, old = want.get(key), have.get(key)
        if entry == old:
            continue
        iid = instance_id(eid, key, full)
        if entry is not None and entry.get("cancelled"):
            req = events.delete(calendarId=cal, eventId=iid, **_send(g))
            calls.append((key, Call("calendar.events.delete", req)))
        else:
            body = instance_body(entry, key, full)
            req = events.patch(calendarId=cal, eventId=iid, body=body, **_send(g))
            calls.append((key, Call("calendar.events.patch", req)))
    return calls


def _canon_after(g: CalendarHost, cal: str, master: Event, written: dict[str, Outcome], full: Canon) -> Canon | None:
    """The canonical record Google now holds, from the write responses (None if unsure)."""
    instances = []
    for key, outcome in written.items():
        if isinstance(outcome, BaseException) and not isinstance(outcome, NotFound):
            return None
        if isinstance(outcome, dict) and outcome:
            instances.append(outcome)
        else:
            start = when_body({"date": key} if full.get("all_day") else {"local": key, "tz": full["start"]["tz"]})
            instances.append({"status": "cancelled", "originalStartTime": start})
    try:
        return g.canon(master, instances, cal)
    except Exception:  # unsure what Google holds: re-read later
        return None


def delete_events(g: CalendarHost, ops: Sequence[WriteOp]) -> list[WriteResult]:
    """Delete events, If-Match the etag last seen; one already gone counts as deleted."""
    calls = []
    for op in ops:
        cal, eid = g.split(str(op.target_id))
        req = g.events.delete(calendarId=cal, eventId=eid, **_send(g))
        if op.version:
            req.headers["If-Match"] = op.version
        calls.append(Call("calendar.events.delete", req))
    return delete_results(ops, g.runner.run(calls))


def _exceptions_round(
    g: CalendarHost, jobs: list[tuple[WriteOp, str, str, Event, Canon | None]]
) -> dict[str, tuple[Event, dict[str, Outcome]]]:
    """Write every job's exception instances in one batch; the outcomes by op key."""
    planned: list[tuple[str, str, Call]] = []
    for op, cal, eid, _, current in jobs:
        planned += [(op.key, key, call) for key, call in _exception_calls(g, cal, eid, op.full, current)]
    outcomes = g.runner.run([c for _, _, c in planned])
    out: dict[str, tuple[Event, dict[str, Outcome]]] = {op.key: (master, {}) for op, _, _, master, _ in jobs}
    for (op_key, key, _), outcome in zip(planned, outcomes, strict=True):
        out[op_key][1][key] = outcome
    return out


def _finish(
    g: CalendarHost, op: WriteOp, cal: str, master: Event, written: dict[str, Outcome], gid: str
) -> WriteResult:
    failed = [o for o in written.values() if isinstance(o, BaseException) and not isinstance(o, NotFound)]
    if failed:
        return error_result(op.key, failed[0])
    canon = (
        _canon_after(g, cal, master, written, op.full)
        if not written or all(isinstance(o, (dict, NotFound)) for o in written.values())
        else None
    )
    if written and op.full.get("exceptions") and canon is not None:
        # Google's own instances we did not touch stay as they were: trust the merged record for them.
        canon = {**canon, "exceptions": op.full["exceptions"]}
    return WriteResult(op.key, True, gid, str(master.get("etag")) if master.get("etag") else None, canon)


def create_events(g: CalendarHost, ops: Sequence[WriteOp]) -> list[WriteResult]:
    """Insert (idempotently), link 409s, then write exceptions."""
    cal, events = g.write_calendar, g.events
    calls = [
        Call("calendar.events.insert", events.insert(calendarId=cal, body=_insert_body(g, op), **_send(g)))
        for op in ops
    ]
    outcomes = g.runner.run(calls)
    results: dict[str, WriteResult] = {}
    jobs: list[tuple[WriteOp, str, str, Event, Canon | None]] = []
    taken: list[WriteOp] = []
    for op, outcome in zip(ops, outcomes, strict=True):
        if is_duplicate(outcome):
            taken.append(op)
        elif isinstance(outcome, BaseException):
            results[op.key] = error_result(op.key, outcome)
        else:
            jobs.append((op, cal, our_id(g, str(op.crm_id)), outcome, None))
    revive: list[WriteOp] = []
    if taken:  # an earlier (crashed) run created them: link what is there
        found = g.fetch_series(cal, [our_id(g, str(op.crm_id)) for op in taken])
        for op in taken:
            series = found.get(our_id(g, str(op.crm_id)))
            master = series.master if series else None
            if master is None or master.get("status") == "cancelled":
                # Ours, deleted in Google: a deleted event's id stays taken, so a re-create revives it.
                revive.append(op)
                continue
            if crm_id_of(master, g.connection_id) != op.crm_id:
                results[op.key] = WriteResult(op.key, False, error="event id already used by another event")
                continue
            current = event_canon(master, series.exceptions if series else [], g.tz(cal), g.me)
            jobs.append((op, cal, str(master["id"]), master, current))
    if revive:
        ids = [our_id(g, str(op.crm_id)) for op in revive]
        bodies = [{**_insert_body(g, op), "status": "confirmed"} for op in revive]
        calls = [
            Call("calendar.events.update", events.update(calendarId=cal, eventId=eid, body=body, **_send(g)))
            for eid, body in zip(ids, bodies, strict=True)
        ]
        for op, eid, outcome in zip(revive, ids, g.runner.run(calls), strict=True):
            if isinstance(outcome, BaseException):
                results[op.key] = error_result(op.key, outcome)
            else:
                jobs.append((op, cal, eid, outcome, None))
    if jobs:
        done = _exceptions_round(g, jobs)
        for op, _, eid, _, _ in jobs:
            master, written = done[op.key]
            results[op.key] = _finish(g, op, cal, master, written, g.gid(cal, eid))
    return [results[op.key] for op in ops]


def current_events(g: CalendarHost, ops: Sequence[WriteOp]) -> dict[str, Event]:
    """The events whose attendees ``ops`` change, as Google holds them at the etag the ops
    expect: from the last read, else one batch of gets."""
    wanted = [op for op in ops if "attendees" in op.fields]
    out = {
        str(op.target_id): g.seen[str(op.target_id)]
        for op in wanted
        if (g.seen.get(str(op.target_id)) or {}).get("etag") == op.version
    }
    missing = [str(op.target_id) for op in wanted if str(op.target_id) not in out]
    calls = [Call("calendar.events.get", g.events.get(calendarId=c, eventId=e)) for c, e in map(g.split, missing)]
    for gid, outcome in zip(missing, g.runner.run(calls), strict=True):
        if isinstance(outcome, dict):
            out[gid] = g.seen[gid] = outcome
    return out


_INHERITED = ("subject", "description", "location")
EVENT = "the event"


def _exceptions_follow(op: WriteOp) -> bool:
    """Whether the series' occurrence overrides are written too: they changed, or the series
    changed a field its moved occurrences inherit (Google keeps the old value on each moved
    instance, which would read back as a per-occurrence override)."""
    if "exceptions" in op.fields:
        return True
    moved = any(not e.get("cancelled") for e in op.full.get("exceptions") or [])
    return moved and any(f in op.fields for f in _INHERITED)


def update_events(g: CalendarHost, ops: Sequence[WriteOp]) -> list[WriteResult]:
    """PATCH changed fields with If-Match; then exceptions against the series as Google holds it.
    An event deleted since it was read (404/410, or answered cancelled) is a conflict: re-read,
    then the delete rule decides."""
    events = g.events
    results: dict[str, WriteResult] = {}
    patched: dict[str, Event] = {}
    calls, sent = [], []
    current = current_events(g, ops)
    for op in ops:
        cal, eid = g.split(str(op.target_id))
        body = _patch_body(g, op, current.get(str(op.target_id)))
        if not body:
            continue
        req = events.patch(calendarId=cal, eventId=eid, body=body, **_send(g))
        if op.version:
            req.headers["If-Match"] = op.version
        calls.append(Call("calendar.events.patch", req))
        sent.append(op)
    for op, outcome in zip(sent, g.runner.run(calls), strict=True):
        if isinstance(outcome, BaseException):
            results[op.key] = error_result(op.key, outcome, updating=True, what=EVENT)
        elif outcome.get("status") == "cancelled":
            results[op.key] = gone_since_read(op.key, EVENT)
        else:
            patched[op.key] = outcome
    needs_exc = [op for op in ops if op.key not in results and _exceptions_follow(op)]
    by_cal: dict[str, list[WriteOp]] = {}
    for op in needs_exc:
        by_cal.setdefault(g.split(str(op.target_id))[0], []).append(op)
    jobs: list[tuple[WriteOp, str, str, Event, Canon | None]] = []
    for cal, cal_ops in by_cal.items():
        found = g.fetch_series(cal, [g.split(str(op.target_id))[1] for op in cal_ops])
        for op in cal_ops:
            eid = g.split(str(op.target_id))[1]
            series = found.get(eid)
            if series is None or series.master is None or series.master.get("status") == "cancelled":
                results[op.key] = gone_since_read(op.key, EVENT)
                continue
            current = event_canon(series.master, series.exceptions, g.tz(cal), g.me)
            jobs.append((op, cal, eid, series.master, current))
    done = _exceptions_round(g, jobs) if jobs else {}
    for op in ops:
        if op.key in results:
            continue
        cal, eid = g.split(str(op.target_id))
        if op.key in done:
            master, written = done[op.key]
            results[op.key] = _finish(g, op, cal, patched.get(op.key, master), written, str(op.target_id))
        elif op.key in patched:
            master = patched[op.key]
            canon = None if master.get("recurrence") else _canon_after(g, cal, master, {}, op.full)
            results[op.key] = WriteResult(op.key, True, op.target_id, str(master.get("etag")), canon)
        else:
            results[op.key] = WriteResult(op.key, True, op.target_id, op.version)  # nothing Google holds changed
    return [results[op.key] for op in ops]
