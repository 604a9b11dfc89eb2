"""Sync health as a user reads it, from the connection, the administrator's rules and the run log:
per kind one state (in sync / syncing / stopped / needs reconnect / paused by the administrator / off),
why and the one action that fixes it, the last successful sync, the records in sync, excluded and
failing (name, side, reason, since when), the conflicts resolved, and the last runs in words.
The settings page and GET /status show the same view."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from crmsync.model.kinds import Kind
from crmsync.model.state import Connection, ConnectionStatus
from crmsync.services.admin_config import AdminConfig
from crmsync.services.run_words import ENGLISH, N_, Translations, run_sentences

HISTORY = 20  # runs shown
NOT_GRANTED = N_("You did not allow Google access for this, so it is turned off. Reconnect Google and allow it.")
MAX_RECORDS = 50  # excluded / failing records listed per kind
_NOTE = re.compile(r"^(crm|google) (\S+): (.*)$", re.S)
_WRITE_ERROR = re.compile(r"^(create|update|delete) in (crm|google) of (\S+): (.*)$", re.S)
_SIDES = {"crm": "CRM", "google": "Google"}


class State(StrEnum):
    IN_SYNC = "in_sync"
    SYNCING = "syncing"  # a run is on, or the last run stopped part-way and continues
    WAITING = "waiting"  # turned on, no run yet
    PREVIEW = "preview"  # the first sync (or a new scope) waits for the user to start it, with a preview
    STOPPED = "stopped"  # a safety check held the run back: the user decides
    NEEDS_RECONNECT = "needs_reconnect"
    PAUSED_BY_ADMIN = "paused_by_admin"
    OFF = "off"  # turned off by the user


class Action(StrEnum):
    NONE = "none"
    RECONNECT = "reconnect"
    REVIEW_DELETES = "review_deletes"
    ASK_ADMIN = "ask_admin"
    TURN_ON = "turn_on"
    CHANGE_SETTING = "change_setting"  # a setting names something that is gone (a calendar, a list)
    WAIT = "wait"
    START = "start"  # check the preview, then "Start syncing"


@dataclass(frozen=True)
class RecordIssue:
    """A record left out of the sync (excluded) or whose write failed (failing)."""

    side: str  # where the record is: "crm" or "google"
    record_id: str
    reason: str
    since: datetime | None
    name: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "side": self.side,
            "record_id": self.record_id,
            "name": self.name,
            "reason": self.reason,
            "since": _iso(self.since),
        }


@dataclass(frozen=True)
class KindHealth:
    """One kind's line on the page."""

    kind: Kind
    state: State
    why: str | None
    action: Action
    last_success_at: datetime | None
    in_sync: int | None
    excluded: list[RecordIssue] = field(default_factory=list)
    failing: list[RecordIssue] = field(default_factory=list)
    would_delete: list[dict[str, Any]] = field(default_factory=list)
    would_delete_count: int = 0
    answer: str | None = None  # the user's answer to the stop ("delete" or "restore"); the next run applies it
    preview: Mapping[str, Any] | None = None  # what the first sync would do (State.PREVIEW)

    @property
    def approved(self) -> bool:
        return self.answer == "delete"

    def as_json(self) -> dict[str, Any]:
        return {
            "state": self.state.value,
            "why": self.why,
            "action": self.action.value,
            "last_success_at": _iso(self.last_success_at),
            "records": {"in_sync": self.in_sync, "excluded": len(self.excluded), "failing": len(self.failing)},
            "excluded": [i.as_json() for i in self.excluded],
            "failing": [i.as_json() for i in self.failing],
            "would_delete": self.would_delete,
            "would_delete_count": self.would_delete_count,
            "deletes_approved": self.approved,
            "stop_answer": self.answer,
            "preview": self.preview,
        }


@dataclass(frozen=True)
class Conflict:
    """A field both sides changed, and how it was settled."""

    kind: str
    record_id: str | None
    name: str | None
    field: str
    crm_value: Any
    google_value: Any
    winner: str
    policy: str
    at: datetime | None
    crm_id: str | None = None
    google_id: str | None = None
    # "use the other value": pending (the next run writes it), stale (a side changed the field since),
    # blocked (the settings write into one side only), failed (a side refused the write)
    choice: str | None = None

    @property
    def loser(self) -> str | None:
        return {"crm": "google", "google": "crm"}.get(self.winner)

    @property
    def loser_text(self) -> str:
        return self.google_text if self.winner == "crm" else self.crm_text

    @property
    def crm_text(self) -> str:
        return value_text(self.crm_value)

    @property
    def google_text(self) -> str:
        return value_text(self.google_value)

    def as_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "record_id": self.record_id,
            "name": self.name,
            "field": self.field,
            "crm_value": self.crm_value,
            "google_value": self.google_value,
            "winner": self.winner,
            "policy": self.policy,
            "at": _iso(self.at),
            "crm_id": self.crm_id,
            "choice": self.choice,
        }


@dataclass(frozen=True)
class RunLine:
    """One run of the history, in words."""

    run_id: str
    at: datetime | None
    trigger: str
    duration_s: float | None
    changes: list[str]
    problem: str | None

    def as_json(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "at": _iso(self.at),
            "trigger": self.trigger,
            "duration_s": self.duration_s,
            "changes": self.changes,
            "problem": self.problem,
        }


def value_text(value: Any) -> str:
    """A field value as a person reads it: lists joined, typed values ({type, value}) as their value."""
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, Mapping):
        if "value" in value:
            return str(value["value"])
        return ", ".join(f"{k}: {value_text(v)}" for k, v in value.items() if v not in (None, "", []))
    if isinstance(value, list | tuple):
        return ", ".join(value_text(v) for v in value)
    return str(value)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _when(run: Mapping[str, Any]) -> datetime | None:
    at = run.get("finished_at") or run.get("started_at")
    return at if isinstance(at, datetime) else None


def _report(run: Mapping[str, Any], kind: Kind) -> Mapping[str, Any] | None:
    kinds = run.get("kinds") or {}
    if isinstance(kinds, Mapping):
        found = kinds.get(kind.value)
        return found if isinstance(found, Mapping) else None
    return next((r for r in kinds if isinstance(r, Mapping) and r.get("kind") == kind.value), None)


def parse_note(note: str) -> tuple[str, str, str] | None:
    """(side, record id, reason in words) of a run note such as ``google people/c1: skipped: ...``."""
    match = _NOTE.match(note)
    if not match:
        return None
    reason = match.group(3).removeprefix("skipped: ").strip()
    return match.group(1), match.group(2), reason[:1].upper() + reason[1:]


def parse_write_error(error: str) -> tuple[str, str, str] | None:
    """(side, record id, reason) of a failed write such as ``update in crm of c1: CRM 422: ...``."""
    match = _WRITE_ERROR.match(error)
    if not match:
        return None
    op, side, record_id, reason = match.groups()
    return side, record_id, f"Could not {op} it in the {_SIDES[side]}: {reason.strip()}"


def record_issues(runs: Sequence[Mapping[str, Any]], kind: Kind, key: str) -> list[RecordIssue]:
    """The records the latest runs report (``notes`` or ``errors``), newest reason first, each with
    since when it has been reported run after run. Runs back to the kind's last full listing count
    (an incremental run only sees records that changed); a record the latest full run did not report,
    or a newer run synced again (``cleared``: it re-reads every record to retry), has left the list."""
    parse = parse_note if key == "notes" else parse_write_error
    current: dict[tuple[str, str], RecordIssue] = {}
    synced: set[str] = set()  # "side id" of records a newer run synced again
    for run in runs:  # newest first
        report = _report(run, kind)
        if report is None or "stopped" in report:
            continue
        raw_names = report.get("names")
        names: Mapping[str, Any] = raw_names if isinstance(raw_names, Mapping) else {}
        for text in report.get(key) or []:
            parsed = parse(str(text))
            if parsed is None:
                continue
            side, record_id, reason = parsed
            if f"{side} {record_id}" in synced:
                continue
            newer = current.get((side, record_id))  # the newest run's reason and name, the oldest run's time
            name = (newer.name if newer else None) or names.get(f"{side} {record_id}")
            current[(side, record_id)] = RecordIssue(
                side, record_id, newer.reason if newer else reason, _when(run), str(name) if name else None
            )
        synced.update(str(k) for k in report.get("cleared") or [])
        if report.get("full"):
            break
    return sorted(current.values(), key=lambda i: (i.since is None, i.since or datetime.min))[:MAX_RECORDS]


def conflicts_of(
    runs: Iterable[Mapping[str, Any]], limit: int = MAX_RECORDS, pending: Iterable[tuple[str, str, str]] = ()
) -> list[Conflict]:
    """The conflicts the runs resolved, newest first; one the user settled with "use the other value"
    leaves the list, one whose choice ``pending`` (kind, CRM id, field) waits or a later run could not
    use says so."""
    waiting = set(pending)
    used: dict[tuple[str, str, str], str] = {}  # what a newer run did with the user's choice
    listed: set[tuple[str, str, str]] = set()
    out: list[Conflict] = []
    for run in runs:
        kinds = run.get("kinds") or {}
        reports = kinds.items() if isinstance(kinds, Mapping) else []
        for kind, report in reports:
            for c in (report or {}).get("conflicts") or []:
                if not isinstance(c, Mapping):
                    continue
                key = (str(kind), str(c.get("crm_id")), str(c.get("field") or ""))
                outcome = "pending" if key in waiting else used.get(key)
                if outcome == "applied" or key in listed:
                    continue  # settled by the user, or an older conflict of the same field (the newest is listed)
                listed.add(key)
                out.append(
                    Conflict(
                        kind=str(kind),
                        record_id=c.get("crm_id") or c.get("google_id"),
                        name=c.get("name"),
                        field=str(c.get("field") or ""),
                        crm_value=c.get("crm"),
                        google_value=c.get("google"),
                        winner=str(c.get("winner") or ""),
                        policy=str(c.get("policy") or ""),
                        at=_when(run),
                        crm_id=c.get("crm_id"),
                        google_id=c.get("google_id"),
                        choice=outcome,
                    )
                )
        for kind, report in reports:  # older runs' conflicts come after this run's answers
            for d in (report or {}).get("choices") or []:
                if isinstance(d, Mapping):
                    used.setdefault((str(kind), str(d.get("crm_id")), str(d.get("field") or "")), str(d.get("outcome")))
    return out[:limit]


TRIGGERS = {
    "tick": N_("Scheduled"),
    "sync_now": N_("Sync now"),
    "rerun": N_("Sync now (again)"),
    "continuation": N_("Continued"),
}


def history(runs: Iterable[Mapping[str, Any]], t: Translations = ENGLISH) -> list[RunLine]:
    """The runs in words, newest first."""
    lines = []
    for run in runs:
        kinds = run.get("kinds") or {}
        stopped = [
            str(r.get("stopped")) for r in (kinds.values() if isinstance(kinds, Mapping) else []) if r.get("stopped")
        ]
        problem = run.get("error") or ("; ".join(stopped) if stopped else None)
        duration = run.get("duration_s")
        lines.append(
            RunLine(
                run_id=str(run.get("run_id") or ""),
                at=_when(run),
                trigger=t.gettext(TRIGGERS.get(str(run.get("reason") or "tick"), "Scheduled")),
                duration_s=float(duration) if isinstance(duration, int | float) else None,
                changes=run_sentences(kinds if isinstance(kinds, Mapping) else {}, t),
                problem=str(problem) if problem else None,
            )
        )
    return lines


def _synced(report: Mapping[str, Any] | None) -> bool:
    """A report of a sync that completed (a preview writes nothing: it is no sync)."""
    return report is not None and bool(report.get("complete")) and not report.get("awaiting_start")


def kind_health(
    kind: Kind,
    connection: Connection,
    rules: AdminConfig,
    granted: bool,
    runs: Sequence[Mapping[str, Any]],
    in_sync: int | None,
    running: bool,
) -> KindHealth:
    """One kind's state, why, action and record counts."""
    last = next((r for r in runs if _report(r, kind) is not None), None)
    report = _report(last, kind) if last is not None else None
    success = next((r for r in runs if _synced(_report(r, kind))), None)
    excluded = record_issues(runs, kind, "notes")
    failing = record_issues(runs, kind, "errors")
    last_success = _when(success) if success else None

    def line(
        state: State, why: str | None, action: Action, problems: bool = True, doomed: list[dict[str, Any]] | None = None
    ) -> KindHealth:
        out, bad = (excluded, failing) if problems else ([], [])
        return KindHealth(kind, state, why, action, last_success, in_sync, out, bad, doomed or [])

    enabled = connection.settings.kind(kind).enabled
    if connection.status is ConnectionStatus.NEEDS_REAUTH:
        return line(State.NEEDS_RECONNECT, None, Action.RECONNECT)  # the page's status notice says why, once
    if connection.status is ConnectionStatus.PAUSED or not rules.sync_enabled or not rules.kinds.on(kind):
        why = (
            N_("Your administrator paused syncing.")
            if rules.kinds.on(kind)
            else N_("Your administrator turned this off.")
        )
        return line(State.PAUSED_BY_ADMIN, why, Action.ASK_ADMIN, problems=False)
    if not granted:
        return line(State.NEEDS_RECONNECT, NOT_GRANTED, Action.RECONNECT, problems=False)
    if not enabled:
        return line(State.OFF, N_("You turned this off."), Action.TURN_ON, problems=False)
    if report is not None and report.get("awaiting_start"):
        preview = report.get("preview") if isinstance(report.get("preview"), Mapping) else None
        why = N_("Nothing is synced yet: check what the sync would do, then start it.")
        return replace(line(State.PREVIEW, why, Action.START, problems=False), preview=preview)
    if report is not None and report.get("stopped"):
        doomed = [dict(r) for r in report.get("would_delete") or []]
        if not doomed:  # stopped by a setting (change it) or for the operator (ask the administrator)
            action = Action.CHANGE_SETTING if report.get("setting") else Action.ASK_ADMIN
            return line(State.STOPPED, str(report["stopped"]), action)
        stopped = line(State.STOPPED, str(report["stopped"]), Action.REVIEW_DELETES, doomed=doomed)
        return replace(stopped, would_delete_count=int(report.get("would_delete_count") or len(doomed)))
    if report is not None and report.get("waiting"):  # a used-up Google quota: it goes on by itself
        return line(State.SYNCING, str(report["waiting"]), Action.WAIT)
    if running or (report is not None and not report.get("complete")):
        return line(State.SYNCING, None, Action.WAIT)
    if report is None:
        return line(State.WAITING, N_("The first sync has not run yet."), Action.WAIT, problems=False)
    return line(State.IN_SYNC, None, Action.NONE)
