"""Which runs the run log keeps, and the log as the pages read it.

Most runs change nothing (adaptive polling backs such connections off, but the safety poll stays). A
run that changed nothing and reported nothing, after a run that did the same, is not written to the
run log: the connection's ``last_run`` (written with the lease's release anyway) holds its report, and
the log's newest entry already says everything it would. Every other run is logged as before: any
change, conflict, record error or note, a stop, a wait, a full listing, an incomplete or failed run, and the first
quiet run after any of those (so the log's newest entry of each kind says how it stands now).

``latest_runs`` puts ``last_run`` in front of the log when the log does not hold it, so the status
and health pages see the latest run as before.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Protocol

from crmsync.model.state import Connection

_QUIET_OUTCOME = "synced"
# What a quiet kind report may hold; any other field with a value (conflicts, notes, errors, a stop, a wait,
# choices applied, records restored, a full listing: the health page reads notes back to each kind's latest
# full listing) makes the run worth logging, and so does any field added later.
_QUIET_FIELDS = frozenset({"kind", "listed", "writes", "complete", "time_zone", "skipped"})


class RunLog(Protocol):
    """The part of the store the log's readers need."""

    def recent_runs(self, connection_id: str, limit: int = 20) -> list[dict[str, Any]]: ...


def unremarkable(record: Mapping[str, Any] | None) -> bool:
    """A finished, complete, incremental run that listed no change, wrote nothing and reported nothing of note."""
    if not record or record.get("outcome") != _QUIET_OUTCOME or not record.get("complete") or record.get("error"):
        return False
    kinds = record.get("kinds")
    if not isinstance(kinds, Mapping):
        return False
    for report in kinds.values():
        if not isinstance(report, Mapping) or not report.get("complete", False):
            return False
        if any(value for key, value in report.items() if key not in _QUIET_FIELDS):
            return False
        for counts in (report.get("writes"), report.get("listed")):
            if any(_count(n) for n in (counts or {}).values()):
                return False
    return True


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 1  # unknown shapes count


def worth_logging(record: Mapping[str, Any], previous: Mapping[str, Any] | None) -> bool:
    """Whether the run log keeps this run: all but a quiet run after a quiet run."""
    return not (unremarkable(record) and unremarkable(previous))


def latest_runs(store: RunLog, connection: Connection, limit: int) -> list[dict[str, Any]]:
    """The run log newest first, with the connection's last run in front when the log does not hold it."""
    runs = store.recent_runs(connection.id, limit)
    last = connection.last_run
    if not last or (runs and runs[0].get("run_id") == last.get("run_id")):
        return runs
    if runs and not _newer(last.get("started_at"), runs[0].get("started_at")):
        return runs  # the log's head is newer: a run in progress journals before it reports
    return [dict(last), *runs][:limit]


def _newer(mine: Any, theirs: Any) -> bool:
    if not isinstance(mine, datetime):
        return False
    if not isinstance(theirs, datetime):
        return True
    try:
        return mine >= theirs
    except TypeError:  # naive against aware: cannot tell, keep the log as it is
        return False
