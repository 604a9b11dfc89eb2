"""Batched event creates and updates of ``GoogleCalendar`` (series first, then their exceptions)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..model.link import Canon
from ..ports import WriteOp, WriteResult
from .calendar_batch import Call, Outcome
from .calendar_mapping import Event, crm_id_of, event_canon
from .errors import NotFound
from .write_results import error_result, gone_since_read, is_duplicate

if TYPE_CHECKING:
    from .calendar import GoogleCalendar


def _exceptions_round(
    g: GoogleCalendar, jobs: list[tuple[WriteOp, str, str, Event, Canon | None]]
) -> dict[str, tuple[Event, dict[str, Outcome]]]:
    """Write every job's exception instances in one batch; the outcomes by op key."""
    planned: list[tuple[str, str, Call]] = []
    for op, cal, eid, _, current in jobs:
        planned += [(op.key, key, call) for key, call in g.exception_calls(cal, eid, op.full, current)]
    outcomes = g.runner.run([c for _, _, c in planned])
    out: dict[str, tuple[Event, dict[str, Outcome]]] = {op.key: (master, {}) for op, _, _, master, _ in jobs}
    for (op_key, key, _), outcome in zip(planned, outcomes, strict=True):
        out[op_key][1][key] = outcome
    return out


def _finish(
    g: GoogleCalendar, op: WriteOp, cal: str, master: Event, written: dict[str, Outcome], gid: str
) -> WriteResult:
    failed = [o for o in written.values() if isinstance(o, BaseException) and not isinstance(o, NotFound)]
    if failed:
        return error_result(op.key, failed[0])
    canon = (
        g.canon_after(cal, master, written, op.full)
        if not written or all(isinstance(o, (dict, NotFound)) for o in written.values())
        else None
    )
    if written and op.full.get("exceptions") and canon is not None:
        # Google's own instances we did not touch stay as they were: trust the merged record for them.
        canon = {**canon, "exceptions": op.full["exceptions"]}
    return WriteResult(op.key, True, gid, str(master.get("etag")) if master.get("etag") else None, canon)


def create_events(g: GoogleCalendar, ops: Sequence[WriteOp]) -> list[WriteResult]:
    """Insert (idempotently), link 409s, then write exceptions."""
    cal, events = g.write_calendar, g.events
    calls = [
        Call("calendar.events.insert", events.insert(calendarId=cal, body=g.insert_body(op), **g._send())) for op in ops
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
            jobs.append((op, cal, g.our_id(str(op.crm_id)), outcome, None))
    revive: list[WriteOp] = []
    if taken:  # an earlier (crashed) run created them: link what is there
        found = g.fetch_series(cal, [g.our_id(str(op.crm_id)) for op in taken])
        for op in taken:
            series = found.get(g.our_id(str(op.crm_id)))
            master = series.master if series else None
            if master is None or master.get("status") == "cancelled":
                # Ours, deleted in Google: a deleted event's id stays taken, so a re-create revives it.
                revive.append(op)
                continue
            if crm_id_of(master, g.connection_id) != op.crm_id:
                results[op.key] = WriteResult(op.key, False, error="event id already used by another event")
                continue
            current = event_canon(master, series.exceptions if series else [], g._tz.get(cal, "UTC"), g.me)
            jobs.append((op, cal, str(master["id"]), master, current))
    if revive:
        ids = [g.our_id(str(op.crm_id)) for op in revive]
        bodies = [{**g.insert_body(op), "status": "confirmed"} for op in revive]
        calls = [
            Call("calendar.events.update", events.update(calendarId=cal, eventId=eid, body=body, **g._send()))
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


def current_events(g: GoogleCalendar, ops: Sequence[WriteOp]) -> dict[str, Event]:
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


def update_events(g: GoogleCalendar, ops: Sequence[WriteOp]) -> list[WriteResult]:
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
        body = g.patch_body(op, current.get(str(op.target_id)))
        if not body:
            continue
        req = events.patch(calendarId=cal, eventId=eid, body=body, **g._send())
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
            current = event_canon(series.master, series.exceptions, g._tz.get(cal, "UTC"), g.me)
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
            canon = None if master.get("recurrence") else g.canon_after(cal, master, {}, op.full)
            results[op.key] = WriteResult(op.key, True, op.target_id, str(master.get("etag")), canon)
        else:
            results[op.key] = WriteResult(op.key, True, op.target_id, op.version)  # nothing Google holds changed
    return [results[op.key] for op in ops]
