"""Adaptive polling: a connection whose runs keep finding nothing is polled less often.

Each complete run that found nothing on either side raises the connection's ``quiet_runs``; the
interval doubles with each (5 -> 10 -> 20 -> 40 -> 60 min with the default bounds) up to the admin's
slowest interval, which stays the safety poll. Any change found (either side, any kind), a push run,
a "Sync now" (and the rerun it asks for) or a settings change sets ``quiet_runs`` back to 0: the
fastest interval.

The connection's own ``settings.interval_minutes`` is where it starts, held inside the admin's bounds.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field, model_validator

if TYPE_CHECKING:  # no import at run time: admin_config imports this module, run_sync imports admin_config
    from crmsync.services.run_sync import RunSummary

MAX_QUIET_RUNS = 16  # 2**16 times the fastest minute is past any slowest bound: more would change nothing
# A user asked for these runs, or a push announced a change: back to the fastest interval.
ACTIVE_REASONS = frozenset({"sync_now", "rerun", "push"})


class PollingBounds(BaseModel):
    """The admin's bounds of every connection's polling interval, in minutes."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    fastest_minutes: int = Field(default=5, ge=1, le=1440)
    slowest_minutes: int = Field(default=60, ge=1, le=1440)

    @model_validator(mode="after")
    def _ordered(self) -> PollingBounds:
        if self.fastest_minutes > self.slowest_minutes:
            raise ValueError(
                f"fastest_minutes ({self.fastest_minutes}) must not be more than slowest_minutes "
                f"({self.slowest_minutes})"
            )
        return self


def fastest_interval(interval_minutes: int, bounds: PollingBounds) -> int:
    """The connection's fastest interval in minutes: its own setting held inside the admin's bounds."""
    return min(max(interval_minutes, bounds.fastest_minutes), bounds.slowest_minutes)


def poll_interval(interval_minutes: int, quiet_runs: int, bounds: PollingBounds) -> timedelta:
    """The interval after ``quiet_runs`` quiet runs in a row: the fastest one doubled per quiet run,
    never slower than the admin's slowest interval (the safety poll)."""
    fastest = fastest_interval(interval_minutes, bounds)
    doublings = min(max(quiet_runs, 0), MAX_QUIET_RUNS)
    return timedelta(minutes=min(fastest * 2**doublings, bounds.slowest_minutes))


def found_changes(summary: RunSummary) -> bool:
    """Whether the run found anything on either side, of any kind: a write, a conflict, or a changed
    record in an incremental listing (a full listing lists every record, so only its writes count)."""
    for report in summary.kinds.values():
        if any(int(n) for n in (report.get("writes") or {}).values()) or report.get("conflicts"):
            return True
        if not report.get("full") and any(int(n) for n in (report.get("listed") or {}).values()):
            return True
    return False


def quiet_runs_after(quiet_runs: int, reason: str, summary: RunSummary) -> int:
    """The connection's quiet-run count after a finished run of ``reason``."""
    if reason in ACTIVE_REASONS or found_changes(summary):
        return 0
    return min(quiet_runs + 1, MAX_QUIET_RUNS)
