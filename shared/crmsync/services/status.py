"""What the settings page and GET /status show: connection state, last run, recent errors and conflicts."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from crmsync.crm.capabilities import kinds_off
from crmsync.model.kinds import Kind
from crmsync.model.state import Connection
from crmsync.services import conflict_choice, stops
from crmsync.services.admin_config import AdminConfig, load_admin_config
from crmsync.services.deps import StatusPorts
from crmsync.services.health import HISTORY, Conflict, KindHealth, RunLine, State, conflicts_of, history, kind_health
from crmsync.services.run_log import latest_runs
from crmsync.services.scopes import granted_kinds
from crmsync.services.settings import connection_of

RECENT_RUNS = HISTORY
MAX_ITEMS = 20
# States that need the user (or their administrator) to act.
NEEDS_USER = (State.STOPPED, State.NEEDS_RECONNECT, State.PREVIEW)


@dataclass(frozen=True)
class KindState:
    """One kind as the user sees it."""

    kind: Kind
    enabled: bool
    granted: bool
    allowed: bool  # switched on by the administrator and offered by the CRM
    reason: str | None = None  # why it is not allowed, for the user


@dataclass(frozen=True)
class RunView:
    """One run summarised: when, and counts per kind and direction/operation."""

    at: datetime | None
    counts: dict[str, dict[str, int]]
    ok: bool


@dataclass(frozen=True)
class StatusView:
    """Everything the status panel shows."""

    connection: Connection
    rules: AdminConfig
    kinds: list[KindState]
    last_run: RunView | None
    errors: list[str] = field(default_factory=list)
    conflicts: list[dict[str, Any]] = field(default_factory=list)
    health: list[KindHealth] = field(default_factory=list)
    history: list[RunLine] = field(default_factory=list)
    resolved: list[Conflict] = field(default_factory=list)
    runs: list[dict[str, Any]] = field(default_factory=list)  # the run log read, newest first

    @property
    def needs_user(self) -> list[KindHealth]:
        """The kinds that wait for the user: stopped, needing a reconnect, or waiting to be started."""
        return [h for h in self.health if h.state in NEEDS_USER]

    @property
    def ok(self) -> bool:
        """Nothing stopped, nothing waits for the user, no record failing."""
        return not self.needs_user and not any(h.failing for h in self.health)

    def as_json(self) -> dict[str, Any]:
        """The GET /status body."""
        c = self.connection
        last = self.last_run
        return {
            "connection_id": c.id,
            "crm_user_id": c.crm_user_id,
            "status": c.status.value,
            "status_reason": c.status_reason,
            "google_email": c.google_email,
            "sync_enabled_globally": self.rules.sync_enabled,
            "next_sync_at": c.next_sync_at.isoformat() if c.next_sync_at else None,
            "kinds": {
                k.kind.value: {"enabled": k.enabled, "granted": k.granted, "allowed": k.allowed, "reason": k.reason}
                for k in self.kinds
            },
            "last_run": None
            if last is None
            else {"at": last.at.isoformat() if last.at else None, "counts": last.counts, "ok": last.ok},
            "recent_errors": self.errors,
            "recent_conflicts": self.conflicts,
            "ok": self.ok,
            "needs_you": [h.kind.value for h in self.needs_user],
            "health": {h.kind.value: h.as_json() for h in self.health},
            "conflicts": [c.as_json() for c in self.resolved],
            "history": [r.as_json() for r in self.history],
            "notifications": [
                {
                    "id": n.id,
                    "reason": n.reason,
                    "kind": n.kind.value if n.kind else None,
                    "message": n.message,
                    "since": n.since.isoformat(),
                    "delivered_at": n.delivered_at.isoformat() if n.delivered_at else None,
                }
                for n in sorted(c.notices.values(), key=lambda n: n.since)
            ],
        }


def _reports(run: dict[str, Any]) -> list[dict[str, Any]]:
    """The per-kind reports of a run summary (``kinds`` is a map by kind, or a list)."""
    kinds = run.get("kinds") or []
    items = kinds.values() if isinstance(kinds, dict) else kinds
    return [r for r in items if isinstance(r, dict)]


def summarise_run(run: dict[str, Any]) -> RunView:
    """Counts per kind from a run summary ({"finished_at"|"started_at", "kinds": [KindReport.as_dict()]})."""
    at = run.get("finished_at") or run.get("started_at")
    counts: dict[str, dict[str, int]] = {}
    for report in _reports(run):
        if report.get("kind"):
            writes = report.get("writes") or {}
            counts[str(report["kind"])] = {str(k): int(v) for k, v in writes.items() if isinstance(v, int)}
    ok = not run.get("error") and not any(_kind_problems(r) for r in _reports(run))
    return RunView(at=at if isinstance(at, datetime) else None, counts=counts, ok=ok)


def _kind_problems(report: dict[str, Any]) -> list[str]:
    """What went wrong for one kind: record errors, a stop (naming the setting to change) or a quota wait."""
    out = [str(e) for e in report.get("errors") or []]
    if report.get("stopped"):
        setting = f" (setting: {report['setting']})" if report.get("setting") else ""
        out.append(f"stopped: {report['stopped']}{setting}")
    if report.get("waiting"):
        out.append(f"waiting: {report['waiting']}")
    return out


def _problems(runs: list[dict[str, Any]]) -> tuple[list[str], list[dict[str, Any]]]:
    errors: list[str] = []
    conflicts: list[dict[str, Any]] = []
    for run in runs:
        if run.get("error"):
            errors.append(str(run["error"]))
        for report in _reports(run):
            errors += [f"{report.get('kind')}: {e}" for e in _kind_problems(report)]
            conflicts += [
                {"kind": report.get("kind"), **c} for c in report.get("conflicts") or [] if isinstance(c, dict)
            ]
    return errors[:MAX_ITEMS], conflicts[:MAX_ITEMS]


def get_status(app: StatusPorts, crm_user_id: str) -> StatusView:
    """The connection's status, with the latest run and recent errors and resolved conflicts."""
    return status_of(app, connection_of(app, crm_user_id))


def status_of(
    app: StatusPorts, connection: Connection, rules: AdminConfig | None = None, off: dict[Kind, str] | None = None
) -> StatusView:
    """``get_status`` of a connection already read; the admin's list passes the rules and the kinds the
    CRM does not offer, read once for the whole page."""
    rules = rules if rules is not None else load_admin_config(app.store)
    granted = granted_kinds(connection.scopes)
    off = off if off is not None else kinds_off(app.crm)
    kinds = [
        KindState(
            k,
            connection.settings.kind(k).enabled,
            k in granted,
            rules.kinds.on(k) and k not in off,
            off.get(k) or (None if rules.kinds.on(k) else "Turned off by your administrator."),
        )
        for k in Kind
    ]
    runs = latest_runs(app.store, connection, RECENT_RUNS)
    last = summarise_run(runs[0]) if runs else (summarise_run(connection.last_run) if connection.last_run else None)
    errors, conflicts = _problems(runs)
    now = app.clock()
    running = connection.lease is not None and connection.lease.expires_at > now
    links = app.store.connection_store(connection.id)
    health = [
        kind_health(
            k.kind,
            connection,
            rules,
            k.granted,
            runs,
            links.count_links(k.kind) if k.enabled and k.granted else None,
            running,
        )
        for k in kinds
    ]
    health = [replace(h, answer=_answer(app, connection.id, h.kind)) if h.state is State.STOPPED else h for h in health]
    return StatusView(
        connection,
        rules,
        kinds,
        last,
        errors,
        conflicts,
        health,
        history(runs),
        _conflicts(app, connection.id, runs),
        runs,
    )


def _answer(app: StatusPorts, connection_id: str, kind: Kind) -> str | None:
    choice = stops.answered(app, connection_id, kind)
    return choice.answer.value if choice is not None else None


def _conflicts(app: StatusPorts, connection_id: str, runs: list[dict[str, Any]]) -> list[Conflict]:
    """The conflicts of the runs, with the user's waiting choices (their cursors read only when
    there is a conflict to show)."""
    listed = conflicts_of(runs)
    if not listed:
        return listed
    pending = {
        (kind, v.crm_id, v.field)
        for kind in sorted({c.kind for c in listed if c.kind in {k.value for k in Kind}})
        for v in conflict_choice.pending_values(app, connection_id, Kind(kind))
    }
    return conflicts_of(runs, pending=pending) if pending else listed
