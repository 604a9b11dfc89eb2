"""Run the sync of one connection: every enabled kind through the engine,
with one set of Google credentials, and a summary of what happened."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..crm.capabilities import kinds_off
from ..crm.port import CrmValidation
from ..errors import KindStopped, MassDeleteBlocked, OperatorError, TransientError
from ..google.errors import GoogleError
from ..model.cursor import Cursor
from ..model.field_mapping import MappedFields
from ..model.kinds import Kind
from ..model.state import Connection
from ..model.task import TaskTarget
from ..obs.logging import redact
from ..ports import LinkStore, OpCounter
from ..sync.engine import KindSync, Progress
from ..sync.preview import preview_kind
from ..sync.report import KindReport, RunInterrupted
from .feed_filters import (
    FeedRestart,
    check_filters,
    cursor_refused,
    feed_filters,
    restart_done,
    restart_feed,
    restarting,
)
from .kind_outcome import held_until, hold_for_quota, stopped, waiting
from .kinds import KIND_FACTORIES
from .mapping_runs import check_mapping
from .preview_gate import awaiting_start
from .run_cursors import RunCursors
from .scopes import KIND_SCOPES
from .wiring import GoogleAccess, KindFactory, KindWiring, RunDeps, StateStore

log = logging.getLogger(__name__)
__all__ = ["GRANT_SCOPES", "KIND_FACTORIES", "GoogleAccess", "KindFactory", "KindWiring", "RunDeps", "StateStore"]
__all__ += ["enabled_kinds", "register_kind", "sync_connection"]


# Kind -> how to wire it: the literal table in kinds.py. Tests and benchmarks put their own
# wiring in with ``register_kind``.
def register_kind(kind: Kind, factory: KindFactory) -> None:
    """Wire ``kind`` with ``factory`` instead (tests and benchmarks; restore KIND_FACTORIES after)."""
    KIND_FACTORIES[kind] = factory


@dataclass
class RunSummary:
    """What one run did: counts per kind and direction, conflicts, errors, API calls."""

    run_id: str
    connection_id: str
    started_at: datetime
    finished_at: datetime | None = None
    kinds: dict[str, dict[str, Any]] = field(default_factory=dict)
    api_calls: dict[str, int] = field(default_factory=dict)
    complete: bool = True
    error: str | None = None
    duration_s: float = 0.0
    retry_kinds: list[str] = field(default_factory=list)  # kinds a temporary failure stopped: retry only these

    @property
    def reasons(self) -> list[str]:
        """Why the run is not complete, per kind (empty when it is)."""
        out = []
        for name, kind in self.kinds.items():
            if not kind.get("complete", False):
                why = kind.get("incomplete") or [kind.get("error") or kind.get("stopped") or "not finished"]
                out.append(f"{name}: {'; '.join(str(w) for w in why)}")
        return out

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "connection_id": self.connection_id,
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "kinds": self.kinds,
            "api_calls": self.api_calls,
            "complete": self.complete,
            "error": self.error or "; ".join(f"{k}: {self.kinds[k].get('error')}" for k in self.retry_kinds) or None,
            "duration_s": round(self.duration_s, 3),
            **({"incomplete": "; ".join(self.reasons)} if not self.complete else {}),
            **({"retry_kinds": self.retry_kinds} if self.retry_kinds else {}),
        }


GRANT_SCOPES = KIND_SCOPES  # the scope each kind needs (model/kinds.py)


def enabled_kinds(conn: Connection) -> list[Kind]:
    """Kinds switched on in settings, granted by the user, and wired in this build."""
    granted = set(conn.scopes)
    return [
        k
        for k in (Kind.CONTACTS, Kind.EVENTS, Kind.TASKS)
        if conn.settings.kind(k).enabled and _scope_for(conn, k) in granted and k in KIND_FACTORIES
    ]


def _scope_for(conn: Connection, kind: Kind) -> str:
    """The scope a kind needs; tasks written as calendar events need Calendar's, not Tasks'."""
    if kind is Kind.TASKS and conn.settings.task_options.target is TaskTarget.CALENDAR:
        return GRANT_SCOPES[Kind.EVENTS]
    return GRANT_SCOPES[kind]


def _relocated(links: LinkStore, kind: Kind, place: str | None) -> None:
    """If the kind's Google side moved (the user chose another target), forget its links — the
    records stay where they are on both sides, nothing is deleted — and sync the new place from
    scratch: its first sync matches what is already there, so nothing is duplicated either."""
    cursor = links.cursor(kind)
    before = cursor.place.target
    if place is None or before == place:
        return
    if before is not None:
        gone = list(links.all_links(kind))
        links.save_links([], gone)
        log.info("%s moved from %s to %s: %d links forgotten, starting over", kind.value, before, place, len(gone))
        cursor = Cursor(kind=kind)
    cursor.place = cursor.place.model_copy(update={"target": place})
    links.save_cursor(cursor)


def preview_report(
    conn: Connection, kind: Kind, credentials: Any, deps: RunDeps, links: LinkStore, counter: OpCounter
) -> dict[str, Any]:
    """A kind waiting for the user to start it: what its sync would do, nothing written."""
    wiring = KIND_FACTORIES[kind](conn, credentials, deps, links.cursor(kind), counter)
    preview = preview_kind(kind, wiring.crm, wiring.google, links, conn.settings.kind(kind), wiring.match_keys)
    return {"kind": kind.value, "awaiting_start": True, "complete": True, "preview": preview.as_dict()}


def _sync_kind(
    conn: Connection,
    kind: Kind,
    credentials: Any,
    deps: RunDeps,
    links: RunCursors,
    counter: OpCounter,
    budget: Callable[[], bool],
    progress: Progress | None,
    on_report: Callable[[KindReport], None],
) -> KindReport:
    """One kind of one run: wire its sides, run the engine, remember the sides' own state. A kind
    whose CRM filters changed (or whose CRM cursor is refused) restarts from a full listing
    (``feed_filters``)."""
    cursor = links.cursor(kind)
    wiring = KIND_FACTORIES[kind](conn, credentials, deps, cursor, counter)
    _relocated(links, kind, wiring.place)
    filters = feed_filters(conn, kind)
    check_filters(links, kind, filters)
    remapped = check_mapping(links, kind, deps.field_mapping)
    fill = MappedFields(deps.field_mapping.of(kind)).fill_from() if remapped else {}
    paced = wiring.budget
    kind_budget = budget if paced is None else (lambda: budget() and paced())

    def engine() -> KindSync:
        crm, google = wiring.crm, wiring.google
        if restarting(links, kind):
            restart = FeedRestart(crm, google, links)
            crm, google = restart.crm, restart.google
        return KindSync(
            kind,
            crm,
            google,
            links,
            conn.settings.kind(kind),
            clock=deps.clock,
            budget=kind_budget,
            match_keys=wiring.match_keys,
            progress=progress,
            full_every=wiring.full_every,
            on_report=on_report,
            fill=fill,
        )

    try:
        report = engine().run()
    except CrmValidation as err:
        if not cursor_refused(err):
            raise
        restart_feed(links, kind, filters, f"the CRM refused the stored cursor ({err})")
        report = engine().run()
    zone = getattr(wiring.google, "time_zone", None)  # a calendar's: times on the settings page
    if isinstance(zone, str):
        report.time_zone = zone
    if report.complete:
        restart_done(links, kind)
    after = links.cursor(kind)
    if wiring.remember(after):
        links.save_cursor(after)
    return report


def sync_connection(
    conn: Connection,
    refresh_token: str,
    deps: RunDeps,
    *,
    budget: Callable[[], bool] = lambda: True,
    progress: Callable[[Kind, str, int, int], None] | None = None,
    kinds: Iterable[Kind] | None = None,
    journal: Callable[[RunSummary], None] | None = None,
) -> RunSummary:
    """Sync every enabled kind of ``conn`` once. Each kind succeeds or fails on its own: a
    temporary failure of one (People answering 503) is recorded, named in ``retry_kinds``, and
    the other kinds still run, as they do after a safety stop. A kind that stops (``KindStopped``:
    a safety stop, a setting naming something gone, an admin's block, the operator's
    misconfiguration) or waits for a used-up quota (held in its cursor until the quota resets,
    not retried before) is recorded too (see ``kind_outcome``). ``NeedsReauth`` propagates (the
    caller marks the connection). ``journal`` is given the summary so far whenever a kind's
    report holds something to keep (conflicts, writes, errors), before that kind's cursor
    forgets the conflicts waiting in it: a process that dies later loses none."""
    started = time.monotonic()
    summary = RunSummary(uuid.uuid4().hex[:16], conn.id, deps.clock())
    counter = OpCounter()
    credentials = deps.credentials(conn, refresh_token)
    links = RunCursors(deps.store.connection_store(conn.id))

    def kept(report: KindReport) -> None:
        summary.kinds[report.kind.value] = report.as_dict()
        if journal is not None and (report.conflicts or report.writes or report.errors):
            summary.api_calls = dict(counter.counts)
            journal(summary)

    try:
        wanted = list(kinds if kinds is not None else enabled_kinds(conn))
        off = kinds_off(deps.crm) if wanted else {}
        for kind in wanted:
            if kind in off:  # the CRM declares it does not have this kind: nothing to sync, nothing failed
                summary.kinds[kind.value] = {"kind": kind.value, "skipped": off[kind], "complete": True}
                continue
            until = held_until(links.cursor(kind), deps.clock())
            if until is not None:  # a used-up quota: no call until it resets
                summary.kinds[kind.value] = waiting(kind, until, "waiting for a used-up Google quota")
                summary.complete = False
                continue
            if deps.preview_first and awaiting_start(links.cursor(kind), conn, kind):
                summary.kinds[kind.value] = preview_report(conn, kind, credentials, deps, links, counter)
                continue
            step: Progress | None = None
            if progress is not None:
                step = lambda phase, done, total, k=kind: progress(k, phase, done, total)  # noqa: E731
            try:
                report = _sync_kind(conn, kind, credentials, deps, links, counter, budget, step, kept)
            except KindStopped as err:  # a setting names something gone, an admin policy, the operator, a safety stop
                summary.kinds[kind.value] = stopped(kind, err)
                if isinstance(err, MassDeleteBlocked):  # what it held back, by name, for the user to decide
                    summary.kinds[kind.value]["would_delete"] = err.records
                    summary.kinds[kind.value]["would_delete_count"] = err.deletes
                summary.complete = False
                continue
            except GoogleError as err:  # Google refused a call no record owns (a listing): a bug or a new reply
                summary.kinds[kind.value] = stopped(kind, OperatorError(str(err), alert="google.unexpected_refusal"))
                summary.complete = False
                continue
            except TransientError as err:
                # This kind only: the others still run. A used-up quota waits for its reset (held in
                # the kind's cursor); any other temporary failure is retried for this kind only.
                done = err.report.as_dict() if isinstance(err, RunInterrupted) else {"kind": kind.value}
                held = hold_for_quota(links, kind, err, deps.clock())
                if held is not None:
                    summary.kinds[kind.value] = {**done, **held}
                    summary.complete = False
                    continue
                log.warning("%s stopped by a temporary failure: %s", kind.value, err)
                summary.kinds[kind.value] = {
                    **done,
                    "complete": False,
                    "error": f"temporary failure, retried: {redact.text(str(err))[:300]}",
                }
                summary.retry_kinds.append(kind.value)
                summary.complete = False
                continue
            summary.kinds[kind.value] = report.as_dict()
            summary.complete = summary.complete and report.complete
    finally:
        summary.api_calls = dict(counter.counts)
        summary.finished_at = deps.clock()
        summary.duration_s = time.monotonic() - started
    return summary
