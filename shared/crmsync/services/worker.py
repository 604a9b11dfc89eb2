"""Handle one sync task: lease, token, bounded run, report, then continuation or rerun.

Retry is a return value: a transient failure returns Outcome.RETRY (HTTP 503) so Cloud Tasks
delivers the task again; anything permanent is recorded on the connection and returns 2xx.
"""

from __future__ import annotations

import logging
import os
import random
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from crmsync.crm.port import CrmError, CrmNotFound, CrmTransient
from crmsync.errors import ConnectionError_, KindStopped, NeedsReauth, OperatorError, TransientError, quota_wait
from crmsync.google.client import Endpoint
from crmsync.model.kinds import Kind
from crmsync.model.state import Connection, ConnectionStatus
from crmsync.obs.logging import log_context, redact
from crmsync.queue.port import TaskQueue
from crmsync.services import notify_crm
from crmsync.services.admin_config import AdminConfig, load_admin_config
from crmsync.services.deps import WorkerPorts
from crmsync.services.fanout import next_sync_time
from crmsync.services.kind_outcome import MIN_QUOTA_WAIT
from crmsync.services.lease_heartbeat import LeaseHeartbeat
from crmsync.services.polling import found_changes, poll_interval, quiet_runs_after
from crmsync.services.push_upkeep import check_push_after_poll, stop_stray_channels
from crmsync.services.run_log import worth_logging
from crmsync.services.run_sync import GoogleAccess, RunDeps, RunSummary, enabled_kinds, sync_connection
from crmsync.services.sync_task import NOTIFY_REASON, SyncTask
from crmsync.services.watch_channels import PushTarget
from crmsync.store.contract import StateStore
from crmsync.vault.port import TokenNotFound, TokenVault, VaultUnavailable

log = logging.getLogger(__name__)
ASKED_REASONS = frozenset({"sync_now", "rerun", "push"})  # a busy lease asks the running sync to go again
REAUTH_MESSAGE = "Google no longer accepts this connection's access (it was revoked or expired). Reconnect Google."
DIED_MESSAGE = (
    "the run stopped before it finished (the process ended: killed, crashed or timed out); "
    "the next run picks up from the saved state"
)
MISSING_TOKEN_MESSAGE = "No Google authorization is stored for this connection. Reconnect Google to resume syncing."


class Outcome(StrEnum):
    SYNCED = "synced"  # a complete run
    CONTINUED = "continued"  # the budget ran out; a continuation task was queued
    SKIPPED = "skipped"  # not active, globally paused, gone, or this task already ran
    BUSY = "busy"  # another live worker holds the lease
    NEEDS_REAUTH = "needs_reauth"  # marked; no retry until the user reconnects
    DEFERRED = "deferred"  # a used-up quota: the next run is when it resets (no hot retry, no reauth)
    FAILED = "failed"  # permanent, recorded; no retry
    RETRY = "retry"  # transient: 503 so Cloud Tasks retries with backoff
    ERROR = "error"  # unexpected: 500, retried up to the queue's max_attempts

    @property
    def status_code(self) -> int:
        """The HTTP status the worker function answers with."""
        return {Outcome.RETRY: 503, Outcome.ERROR: 500}.get(self, 200)


@dataclass(frozen=True)
class WorkerSettings:
    """Run budget, lease length and heartbeat, jitter and run-log retention."""

    budget_seconds: float = 420.0  # of the worker's 540 s timeout: leaves time to save and report
    # A run holds a short lease and renews it while it lives (services/lease_heartbeat.py): a killed
    # instance's connection is free again within lease_seconds, and a live run never loses its lease.
    lease_seconds: float = 120.0
    heartbeat_seconds: float = 30.0
    jitter: float = 0.1
    run_log_days: int = 30
    max_continuations: int = 1000  # a chain longer than this waits for the next tick

    def __post_init__(self) -> None:
        if self.budget_seconds <= 0 or self.lease_seconds <= 0 or self.heartbeat_seconds <= 0:
            raise ValueError("CRMSYNC_WORKER_BUDGET_SECONDS, the lease and the heartbeat must be positive")
        if self.heartbeat_seconds * 3 > self.lease_seconds:
            raise ValueError("the lease heartbeat must beat at least three times per lease length")

    @property
    def lease_ttl(self) -> timedelta:
        """How long a lease lasts unless renewed (its run renews it every ``heartbeat_seconds``)."""
        return timedelta(seconds=self.lease_seconds)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> WorkerSettings:
        """Read CRMSYNC_WORKER_BUDGET_SECONDS (optional)."""
        env = os.environ if env is None else env
        raw = (env.get("CRMSYNC_WORKER_BUDGET_SECONDS") or "").strip()
        try:
            budget = float(raw) if raw else cls.budget_seconds
        except ValueError:
            raise ValueError(f"CRMSYNC_WORKER_BUDGET_SECONDS must be a number of seconds, got {raw!r}") from None
        return cls(budget_seconds=budget)


@dataclass
class WorkerDeps:
    """What the worker talks to."""

    store: StateStore
    vault: TokenVault
    queue: TaskQueue
    run: RunDeps
    settings: WorkerSettings = WorkerSettings()
    monotonic: Callable[[], float] = time.monotonic
    rng: random.Random = field(default_factory=random.Random)
    # After each run: tell the CRM what needs the user (services/notify_crm.py).
    after_run: Callable[[Connection, dict[str, Any]], object] | None = None


@dataclass(frozen=True)
class WorkResult:
    """What handling one task came to."""

    outcome: Outcome
    detail: str
    run_id: str | None = None
    follow_up: str | None = None  # name of a continuation or rerun task queued

    @property
    def status_code(self) -> int:
        """The HTTP status for the entry point."""
        return self.outcome.status_code


def handle_task(task: SyncTask, deps: WorkerDeps) -> WorkResult:
    """Run one sync of the task's connection if it is due to run, and report it.

    The connection is read once, in the transaction that takes the lease, and the report, the lease's
    release and the rerun flag are one write at the end: a run that changes nothing reads the
    connection, the admin's settings, the token and each kind's cursor, and writes twice."""
    store, clock = deps.store, deps.run.clock
    with log_context(connection_id=task.connection_id, reason=task.reason):
        if task.reason == NOTIFY_REASON:  # only tell the CRM again (no sync, no lease)
            conn = store.get_connection(task.connection_id)
            if conn is not None and deps.after_run is not None:
                deps.after_run(conn, {})
            return WorkResult(Outcome.SKIPPED, "told the CRM what needs the user")
        admin = load_admin_config(store)
        if not admin.sync_enabled:
            return WorkResult(Outcome.SKIPPED, "syncing is paused by the administrator")
        run_id = uuid.uuid4().hex[:16]

        def admit(conn: Connection) -> bool:
            # A duplicate that raced the first delivery sees its report here, under the lease's transaction.
            return conn.status is ConnectionStatus.ACTIVE and not _already_ran(conn, task)

        leased = store.lease_connection(task.connection_id, run_id, deps.settings.lease_ttl, clock(), admit)
        conn = leased.connection
        if conn is None:
            return WorkResult(Outcome.SKIPPED, "no such connection (disconnected?)")
        if conn.status is not ConnectionStatus.ACTIVE:
            return WorkResult(Outcome.SKIPPED, f"connection is {conn.status.value}")
        if _already_ran(conn, task):
            return WorkResult(Outcome.SKIPPED, "this task already ran (duplicate delivery)")
        if not leased.taken:
            if task.reason in ASKED_REASONS:
                store.request_rerun(conn.id)  # the running sync goes again right after
            return WorkResult(Outcome.BUSY, "another run holds the lease")
        refusal = _policy_refusal(conn, admin, deps)
        if refusal is not None:
            # The admin's connect policy applies to existing connections too: pause, visibly, until resumed.
            fields = {"status": ConnectionStatus.PAUSED, "status_reason": refusal}
            store.finish_run(conn.id, run_id, fields, take_rerun=False)
            log.warning("connection paused: %s", refusal)
            return WorkResult(Outcome.SKIPPED, refusal)
        with log_context(run_id=run_id):
            # The admin's rules as they are now apply to this run: kinds switched off stay off, and
            # each direction is narrowed to what the allowed directions permit (never written back).
            conn = conn.model_copy(update={"settings": admin.run_settings(conn.settings)})
            # A crash inside the run leaves the lease to expire, exactly as a killed instance would.
            kinds = _still_to_retry(conn, task, enabled_kinds(conn))
            if task.kinds is not None:
                kinds = [k for k in kinds if k in task.kinds]
                if not kinds:
                    if Kind.EVENTS in task.kinds and Kind.EVENTS not in enabled_kinds(conn):
                        stop_stray_channels(conn, deps.store, deps.vault, deps.run)  # events switched off
                    store.release_lease(conn.id, run_id)
                    return WorkResult(Outcome.SKIPPED, "none of the task's kinds is enabled for this connection")
            result, record = _run(
                conn,
                task,
                run_id,
                kinds,
                replace(
                    deps,
                    run=replace(deps.run, field_mapping=admin.field_mapping, preview_first=admin.preview_first_sync),
                ),
            )
            try:
                rerun = _report(conn, task, run_id, result, record, deps, admin)
            except BaseException:  # the run itself is over: a failed report must not block the retry
                store.release_lease(conn.id, run_id)
                raise
            if deps.run.push is not None and result.summary is not None:
                check_push_after_poll(store, conn, task.reason, record)
            if deps.after_run is not None:  # what needs the user, told to the CRM (never fails the task)
                deps.after_run(conn, record)
            follow = _follow_up(conn, task, run_id, result, deps, rerun)
        log.info("sync task handled: %s", result.outcome.value, extra={"outcome": result.outcome.value})
        return WorkResult(result.outcome, result.detail, run_id, follow)


def _policy_refusal(conn: Connection, admin: AdminConfig, deps: WorkerDeps) -> str | None:
    """Why the admin's connect policy no longer allows this connection's CRM user, or None. A CRM that
    does not answer decides nothing here (the run itself meets the outage and retries)."""
    try:
        user = deps.run.crm.user(conn.crm_user_id)
    except CrmNotFound:
        return "paused: the CRM user no longer exists"
    except CrmError:
        return None
    if not admin.connect.allows(user):
        return "paused: the administrator's rules no longer allow Google sync for this CRM user"
    return None


def _still_to_retry(conn: Connection, task: SyncTask, kinds: list[Kind]) -> list[Kind]:
    """A redelivery of a task whose run failed for some kinds only runs those kinds again."""
    last = conn.last_run or {}
    retry = last.get("retry_kinds")
    if task.key is None or last.get("task") != task.key or last.get("outcome") != Outcome.RETRY or not retry:
        return kinds
    return [k for k in kinds if k.value in retry]


def _already_ran(conn: Connection, task: SyncTask) -> bool:
    """The connection's last report is of this very task (and it did not ask for a retry)."""
    last = conn.last_run or {}
    return task.key is not None and last.get("task") == task.key and last.get("outcome") != Outcome.RETRY


@dataclass(frozen=True)
class _Ran:
    outcome: Outcome
    detail: str
    summary: RunSummary | None = None
    retry_at: datetime | None = None  # DEFERRED: when the next run may start


def _run(
    conn: Connection, task: SyncTask, run_id: str, kinds: list[Kind], deps: WorkerDeps
) -> tuple[_Ran, dict[str, Any]]:
    started = deps.run.clock()
    deadline = deps.monotonic() + deps.settings.budget_seconds

    heartbeat = LeaseHeartbeat(
        deps.store, conn.id, run_id, deps.settings.lease_ttl, deps.settings.heartbeat_seconds, deps.run.clock
    )

    def budget() -> bool:
        return deps.monotonic() < deadline and not heartbeat.lost

    def journal(so_far: RunSummary) -> None:
        # Written as each kind with something to keep finishes: if the process dies before the
        # final report (which overwrites this), the run log still holds those kinds' conflicts
        # and counts, and says why the run is incomplete.
        record = {**so_far.as_dict(), "started_at": so_far.started_at, "finished_at": deps.run.clock()}
        record.update(run_id=run_id, reason=task.reason, task=task.key, outcome="running", complete=False)
        record["error"] = record["incomplete"] = DIED_MESSAGE
        deps.store.append_run(conn.id, run_id, record, started + timedelta(days=deps.settings.run_log_days))

    try:
        with heartbeat:
            token = deps.vault.get(conn.id)
            summary = sync_connection(conn, token, deps.run, budget=budget, kinds=kinds, journal=journal)
    except TokenNotFound:
        ran = _Ran(Outcome.NEEDS_REAUTH, MISSING_TOKEN_MESSAGE)
    except NeedsReauth:
        ran = _Ran(Outcome.NEEDS_REAUTH, REAUTH_MESSAGE)
    except ConnectionError_ as err:
        ran = _Ran(Outcome.NEEDS_REAUTH, f"{_text(err)} Reconnect Google and grant every requested permission.")
    except (TransientError, CrmTransient, VaultUnavailable) as err:
        quota = quota_wait(err)
        if quota is not None:
            now = deps.run.clock()
            until = now + max(MIN_QUOTA_WAIT, timedelta(seconds=quota.wait_seconds(now) or 0))
            detail = f"Google's {quota.quota} is used up; syncing again after {until.isoformat(timespec='seconds')}"
            ran = _Ran(Outcome.DEFERRED, f"{detail}: {_text(err)}", retry_at=until)
        else:
            ran = _Ran(Outcome.RETRY, f"temporary failure, will retry: {_text(err)}")
    except OperatorError as err:
        log.error("operator action needed (%s): %s", err.alert, _text(err), extra={"alert": err.alert})
        ran = _Ran(Outcome.FAILED, f"{_text(err)} The administrator has been alerted; the connection is kept.")
    except KindStopped as err:
        ran = _Ran(Outcome.FAILED, _text(err))
    except Exception as err:
        log.exception("sync run failed unexpectedly")
        ran = _Ran(Outcome.ERROR, f"unexpected error: {type(err).__name__}: {_text(err)}")
    else:
        more = not summary.complete and not budget() and task.continuation < deps.settings.max_continuations
        if summary.retry_kinds:
            # Only those kinds are retried (the redelivery runs them alone); the others are synced.
            why = "; ".join(str(summary.kinds[k].get("error")) for k in summary.retry_kinds)
            ran = _Ran(Outcome.RETRY, f"{', '.join(summary.retry_kinds)}: {why}", summary)
        else:
            outcome = Outcome.CONTINUED if more else Outcome.SYNCED
            ran = _Ran(outcome, "budget used up; continuing" if more else "run finished", summary)
    if ran.summary is not None:
        record = {**ran.summary.as_dict(), "started_at": ran.summary.started_at}
        record["finished_at"] = ran.summary.finished_at or deps.run.clock()
    else:
        record = {"run_id": run_id, "connection_id": conn.id, "started_at": started, "finished_at": deps.run.clock()}
        record.update(complete=False, error=ran.detail, kinds={}, api_calls={})
    record.update(run_id=run_id, reason=task.reason, task=task.key, outcome=ran.outcome.value)
    return ran, record


def _report(
    conn: Connection,
    task: SyncTask,
    run_id: str,
    ran: _Ran,
    record: dict[str, Any],
    deps: WorkerDeps,
    admin: AdminConfig,
) -> bool:
    """Write the run's report (and end the lease) in one write; True if a rerun was asked for meanwhile."""
    now = deps.run.clock()
    fields: dict[str, Any] = {"last_run": record}
    # Adaptive polling: a finished run that found nothing backs the interval off; any change found resets it.
    quiet = conn.quiet_runs
    if ran.summary is not None and ran.outcome is Outcome.SYNCED:
        quiet = fields["quiet_runs"] = quiet_runs_after(quiet, task.reason, ran.summary)
    elif ran.summary is not None and found_changes(ran.summary):  # a continued or retried run's changes
        quiet = fields["quiet_runs"] = 0
    interval = poll_interval(conn.settings.interval_minutes, quiet, admin.polling)
    if ran.outcome is Outcome.NEEDS_REAUTH:
        fields.update(status=ConnectionStatus.NEEDS_REAUTH, status_reason=ran.detail)
    elif ran.outcome is Outcome.DEFERRED and ran.retry_at is not None:
        fields["next_sync_at"] = max(ran.retry_at, next_sync_time(now, interval, deps.settings.jitter, deps.rng))
    elif ran.outcome is not Outcome.RETRY:
        fields["next_sync_at"] = next_sync_time(now, interval, deps.settings.jitter, deps.rng)
        if task.kinds is not None and conn.next_sync_at is not None:
            # A run of some kinds (a push) must not put off the poll of the others.
            fields["next_sync_at"] = min(conn.next_sync_at, fields["next_sync_at"])
    # The run log first: last_run is what marks this task done, so it is written last. A run that changed
    # nothing after one that changed nothing is not logged: last_run holds its report (status shows it).
    if worth_logging(record, conn.last_run):
        deps.store.append_run(conn.id, run_id, record, now + timedelta(days=deps.settings.run_log_days))
    return deps.store.finish_run(conn.id, run_id, fields, take_rerun=ran.outcome is Outcome.SYNCED)


def _follow_up(conn: Connection, task: SyncTask, run_id: str, ran: _Ran, deps: WorkerDeps, rerun: bool) -> str | None:
    """Queue the continuation of an unfinished run, or the rerun "Sync now" asked for during this one
    (``rerun``: the flag, taken with the run's report)."""
    if ran.outcome is Outcome.CONTINUED:
        root = task.root or task.task or f"{conn.id}-run-{run_id}"
        n = task.continuation + 1
        nxt = SyncTask(conn.id, "continuation", f"{root}-c{n}", root, n, task.kinds)
        deps.queue.enqueue(conn.id, name=nxt.task, payload=nxt.body())
        return nxt.task
    if ran.outcome is Outcome.SYNCED and rerun:
        again = SyncTask(conn.id, "rerun", f"{conn.id}-rerun-{run_id}")
        deps.queue.enqueue(conn.id, name=again.task, payload=again.body())
        return again.task
    return None


def _text(err: BaseException) -> str:
    """An error message safe to store and show: secrets redacted, length bounded."""
    return redact.text(str(err))[:500]


def worker_deps(app: WorkerPorts, settings: WorkerSettings | None = None) -> WorkerDeps:
    """The worker's dependencies from the ports it takes (the composition root's App has them all)."""
    config = app.config
    client = config.oauth_client()
    google = GoogleAccess(Endpoint(config.google_api_base), client.client_id, client.client_secret)
    push = PushTarget.for_base_url(config.base_url) if config.calendar_push else None
    run = RunDeps(store=app.store, crm=app.crm, google=google, clock=app.clock, push=push)
    deps = WorkerDeps(app.store, app.vault, app.queue, run, settings or WorkerSettings.from_env())
    deps.after_run = lambda connection, record: notify_crm.after_run(app, connection, record)
    return deps
