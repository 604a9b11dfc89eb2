"""Activity and task formats: local wall times with a zone, inclusive all-day ends, UNTIL in UTC,
exceptions on real occurrences, task due dates and completion — each refused with its path."""

from __future__ import annotations

from typing import Any

from ..client import Exchange
from ..runner import Context, Skipped, rule

TIMED = {"start": "2026-03-02T10:00:00", "end": "2026-03-02T11:00:00", "time_zone": "Europe/Berlin"}


def _refused(ctx: Context, ex: Exchange, path: str, doing: str) -> None:
    ctx.expect(ex, 422, doing)
    paths = [e.get("path") for e in ctx.obj(ex).get("errors", []) if isinstance(e, dict)]
    ctx.check(path in paths, f"{doing}: errors[].path names {path} (got {paths})", ex)


def _activity(ctx: Context, **fields: Any) -> Exchange:
    return ctx.create("activities", {"subject": f"Formats {ctx.tag}", **fields})


@rule(
    "formats.activities",
    "Activities: local times + zone, inclusive all-day end, UNTIL in UTC, exceptions on occurrences",
    "Records",
)
def activities(ctx: Context) -> None:
    if "activities" not in ctx.kinds:
        raise Skipped("the CRM declares no activities")
    ok = _activity(ctx, **TIMED, recurrence={"rrule": "FREQ=WEEKLY;BYDAY=MO;UNTIL=20260330T235959Z"})
    ctx.expect(ok, 201, "a weekly timed series with UNTIL in UTC")
    ctx.check(
        ctx.obj(ok)["start_date"] is None and ctx.obj(ok)["all_day"] is False, "a timed activity has null dates", ok
    )
    day = _activity(ctx, all_day=True, start_date="2026-03-02", end_date="2026-03-02")
    ctx.expect(day, 201, "a one-day all-day activity (end_date == start_date: inclusive)")
    ctx.check(
        ctx.obj(day)["start"] is None and ctx.obj(day)["time_zone"] is None, "an all-day activity has null times", day
    )
    _refused(
        ctx,
        _activity(ctx, all_day=True, start_date="2026-03-02", end_date="2026-03-01"),
        "/end_date",
        "an all-day end before its start",
    )
    _refused(
        ctx,
        _activity(ctx, **{**TIMED, "start": "2026-03-02T10:00:00+01:00"}),
        "/start",
        "a start with an offset (it is local wall time)",
    )
    _refused(ctx, _activity(ctx, **{**TIMED, "end": "2026-03-02T09:00:00"}), "/end", "an end before the start")
    local_until = {"rrule": "FREQ=WEEKLY;UNTIL=20260330T235959"}
    _refused(
        ctx, _activity(ctx, **TIMED, recurrence=local_until), "/recurrence/rrule", "a timed series with a local UNTIL"
    )
    both = {"rrule": "FREQ=WEEKLY;COUNT=3;UNTIL=20260330T235959Z"}
    _refused(ctx, _activity(ctx, **TIMED, recurrence=both), "/recurrence/rrule", "COUNT and UNTIL together")
    off = [{"original_start": "2026-03-03T10:00:00", "cancelled": True}]
    series = {"rrule": "FREQ=WEEKLY;COUNT=3"}
    _refused(
        ctx,
        _activity(ctx, **TIMED, recurrence=series, exceptions=off),
        "/exceptions/0/original_start",
        "an exception on a day that is no occurrence",
    )
    on = [{"original_start": "2026-03-09T10:00:00", "cancelled": True}]
    ctx.expect(_activity(ctx, **TIMED, recurrence=series, exceptions=on), 201, "a cancelled occurrence of the series")


@rule("formats.tasks", "Tasks: due as a date or a date-time with offset; completing stamps completed_at", "Records")
def tasks(ctx: Context) -> None:
    if "tasks" not in ctx.kinds:
        raise Skipped("the CRM declares no tasks")
    timed = ctx.create("tasks", {"title": f"Formats {ctx.tag}", "due": "2026-11-25T16:30:00+01:00"})
    ctx.expect(timed, 201, "a task due at a time with an offset")
    ctx.check(ctx.obj(timed)["due"] == "2026-11-25T16:30:00+01:00", "the due time and offset are kept as sent", timed)
    _refused(
        ctx, ctx.create("tasks", {"title": "t", "due": "2026-11-25T16:30:00"}), "/due", "a due time without an offset"
    )
    done = ctx.create("tasks", {"title": f"Formats {ctx.tag}", "status": "completed"})
    ctx.expect(done, 201, "a completed task without completed_at")
    ctx.check(bool(ctx.obj(done)["completed_at"]), "completing without completed_at stamps the time", done)
    bad = ctx.create("tasks", {"title": "t", "status": "open", "completed_at": "2026-03-02T10:00:00Z"})
    _refused(ctx, bad, "/completed_at", "completed_at on an open task")
    rid = ctx.obj(done)["id"]
    reopen = ctx.http("PATCH", f"/tasks/{rid}", body={"status": "open"}, headers={"If-Match": '"1"'})
    ctx.expect(reopen, 200, "reopening the task")
    ctx.check(ctx.obj(reopen)["completed_at"] is None, "reopening clears completed_at", reopen)
