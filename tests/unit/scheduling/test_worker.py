"""The worker on fakes: exactly one sync per task, resume after a crash, reauth, continuation, rerun, pause."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from typing import Any

import pytest
from google.auth import exceptions as auth_exceptions

from crmsync.errors import TransientError
from crmsync.google.errors import map_error
from crmsync.model.state import ConnectionStatus
from crmsync.services.fanout import fan_out
from crmsync.services.sync_task import InvalidTask, SyncTask
from crmsync.services.worker import Outcome, WorkerSettings
from crmsync.store.memory import MemoryStore
from tests.unit.scheduling.support import World

pytestmark = pytest.mark.unit


class Killed(BaseException):
    """The instance died mid-run (nothing after this point runs, like SIGKILL)."""


def test_a_task_syncs_reports_and_reschedules(world: World) -> None:
    world.connect("c1")
    result = world.deliver("c1")
    assert (result.outcome, result.status_code) == (Outcome.SYNCED, 200)
    conn = world.store.get_connection("c1")
    assert conn is not None
    assert conn.lease is None
    assert conn.last_run is not None
    assert conn.last_run["outcome"] == "synced"
    assert conn.last_run["kinds"]["contacts"]["writes"] == {"google.create": 3}
    interval = timedelta(minutes=5)
    assert conn.next_sync_at is not None
    assert world.clock() + interval * 0.9 <= conn.next_sync_at <= world.clock() + interval * 1.1
    runs = world.store.recent_runs("c1")
    assert [r["run_id"] for r in runs] == [result.run_id]
    assert runs[0]["expires_at"] == world.clock() + timedelta(days=30)
    assert len(world.sides["c1"].google.records) == 3


def test_duplicate_delivery_runs_one_sync(world: World) -> None:
    world.connect("c1")
    first = world.deliver("c1", task="c1-100")
    again = world.deliver("c1", task="c1-100")
    assert first.outcome is Outcome.SYNCED
    assert (again.outcome, again.status_code) == (Outcome.SKIPPED, 200)
    assert world.sides["c1"].syncs == 1
    assert world.deliver("c1", task="c1-101").outcome is Outcome.SYNCED  # the next slot does run
    assert world.sides["c1"].syncs == 2


def test_concurrent_delivery_runs_one_sync(world: World) -> None:
    world.connect("c1")
    second_done = threading.Event()
    world.sides["c1"].hook = lambda: second_done.wait(5)  # the first run waits inside the sync
    results = {}

    def deliver(slot: str) -> None:
        results[slot] = world.deliver("c1", task="c1-100")
        if slot == "b":
            second_done.set()

    first = threading.Thread(target=deliver, args=("a",))
    first.start()
    while world.sides["c1"].syncs == 0:  # until the first holds the lease and is syncing
        threading.Event().wait(0.005)
    deliver("b")
    first.join(10)
    assert results["b"].outcome is Outcome.BUSY
    assert results["b"].status_code == 200
    assert results["a"].outcome is Outcome.SYNCED
    assert world.sides["c1"].syncs == 1


def test_many_simultaneous_deliveries_run_one_sync(world: World) -> None:
    world.connect("c1")
    start = threading.Barrier(8)
    outcomes: list[Outcome] = []

    def deliver() -> None:
        start.wait()
        outcomes.append(world.deliver("c1", task="c1-7").outcome)

    threads = [threading.Thread(target=deliver) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert outcomes.count(Outcome.SYNCED) == 1
    assert set(outcomes) <= {Outcome.SYNCED, Outcome.BUSY, Outcome.SKIPPED}
    assert world.sides["c1"].syncs == 1


def test_a_killed_worker_is_resumed_by_the_next_delivery_without_duplicates(world: World) -> None:
    world.connect("c1", records=6)
    google = world.sides["c1"].google
    real_create = google.create

    def create_then_die(ops):  # type: ignore[no-untyped-def]
        real_create(ops[:4])
        raise Killed

    google.create = create_then_die  # type: ignore[method-assign]
    with pytest.raises(Killed):
        world.deliver("c1", task="c1-1")
    google.create = real_create  # type: ignore[method-assign]
    assert len(google.records) == 4  # written, but the links were never saved
    conn = world.store.get_connection("c1")
    assert conn is not None
    assert conn.lease is not None

    assert world.deliver("c1", task="c1-1").outcome is Outcome.BUSY  # retried before the lease ran out
    world.clock.advance(seconds=world.settings.lease_ttl.total_seconds() + 1)
    resumed = world.deliver("c1", task="c1-1")
    assert resumed.outcome is Outcome.SYNCED
    assert len(google.records) == 6
    assert world.google_dupes("c1") == 0
    quiet = world.deliver("c1", task="c1-2")
    last = world.store.get_connection("c1").last_run  # type: ignore[union-attr]
    assert quiet.outcome is Outcome.SYNCED
    assert last is not None
    assert last["kinds"]["contacts"]["writes"] == {}


def test_invalid_grant_marks_needs_reauth_without_retry_and_fanout_skips_it(world: World) -> None:
    world.connect("c1")
    world.connect("c2")
    google = world.sides["c1"].google

    def refused(token):  # type: ignore[no-untyped-def]
        raise map_error(auth_exceptions.RefreshError("invalid_grant: Token has been expired or revoked."))

    google.list_changes = refused  # type: ignore[method-assign]
    result = world.deliver("c1", task="c1-1")
    assert (result.outcome, result.status_code) == (Outcome.NEEDS_REAUTH, 200)
    conn = world.store.get_connection("c1")
    assert conn is not None
    assert conn.status is ConnectionStatus.NEEDS_REAUTH
    assert conn.status_reason is not None
    assert "Reconnect Google" in conn.status_reason
    assert "refresh-token" not in str(conn.last_run)

    world.clock.advance(minutes=30)  # long past next_sync_at
    tick = fan_out(world.store, world.queue, world.clock)
    assert [t.connection_id for t in world.queue.tasks] == ["c2"]
    assert tick.enqueued == 1
    assert world.deliver("c1", task="c1-2").outcome is Outcome.SKIPPED  # a stray redelivery does nothing
    assert world.sides["c1"].syncs == 1


def test_missing_token_needs_reauth(world: World) -> None:
    world.connect("c1")
    world.vault.delete("c1")
    assert world.deliver("c1").outcome is Outcome.NEEDS_REAUTH
    assert world.sides["c1"].syncs == 0


def test_transient_failure_returns_retry_and_keeps_the_task_retryable(world: World) -> None:
    world.connect("c1")
    world.sides["c1"].google.fail_calls.append("list")
    failed = world.deliver("c1", task="c1-5")
    assert (failed.outcome, failed.status_code) == (Outcome.RETRY, 503)
    conn = world.store.get_connection("c1")
    assert conn is not None
    assert conn.lease is None
    assert conn.status is ConnectionStatus.ACTIVE
    retried = world.deliver("c1", task="c1-5")  # Cloud Tasks redelivers the same task
    assert retried.outcome is Outcome.SYNCED
    assert world.google_dupes("c1") == 0


def test_unexpected_error_is_recorded_and_answers_500(world: World) -> None:
    world.connect("c1")

    def broken(token):  # type: ignore[no-untyped-def]
        raise KeyError("bug")

    world.sides["c1"].google.list_changes = broken  # type: ignore[method-assign]
    result = world.deliver("c1")
    assert (result.outcome, result.status_code) == (Outcome.ERROR, 500)
    conn = world.store.get_connection("c1")
    assert conn is not None
    assert conn.lease is None
    assert conn.last_run is not None
    assert "KeyError" in conn.last_run["error"]


def test_budget_exhaustion_queues_a_continuation_until_done(world: World) -> None:
    world.settings = WorkerSettings(budget_seconds=5)
    world.connect("c1", records=450)
    google = world.sides["c1"].google
    real_create = google.create

    def slow_create(ops):  # type: ignore[no-untyped-def]
        world.mono.value += 6  # each batch eats 6 s of the 5 s budget: one batch per run
        return real_create(ops)

    google.create = slow_create  # type: ignore[method-assign]
    first = world.deliver("c1", task="c1-9")
    assert first.outcome is Outcome.CONTINUED
    assert first.follow_up == "c1-9-c1"
    task = world.queue.tasks[-1]
    assert (task.name, task.payload["reason"], task.payload["continuation"]) == ("c1-9-c1", "continuation", 1)
    runs = 1
    while world.queue.tasks[-1].payload.get("reason") == "continuation" and runs < 20:
        payload = world.queue.tasks[-1].payload
        done = world.deliver("c1", **{k: v for k, v in payload.items() if k != "connection_id"})
        runs += 1
        if done.outcome is Outcome.SYNCED:
            break
        assert done.outcome is Outcome.CONTINUED
    assert runs > 2
    assert len(google.records) == 450
    assert world.google_dupes("c1") == 0
    names = [t.name for t in world.queue.tasks]
    assert names == [f"c1-9-c{n}" for n in range(1, runs)]


def test_sync_now_during_a_run_runs_again_right_after(world: World) -> None:
    world.connect("c1")
    during: list[Outcome] = []

    def click_sync_now() -> None:
        if not during:  # only during the first run
            during.append(world.deliver("c1", reason="sync_now", task=None).outcome)

    world.sides["c1"].hook = click_sync_now
    first = world.deliver("c1", task="c1-3")
    assert during == [Outcome.BUSY]
    assert first.outcome is Outcome.SYNCED
    assert first.follow_up == f"c1-rerun-{first.run_id}"
    rerun = world.queue.tasks[-1]
    assert rerun.payload["reason"] == "rerun"
    assert rerun.delay_seconds == 0
    assert world.deliver("c1", **{k: v for k, v in rerun.payload.items() if k != "connection_id"}).follow_up is None
    assert world.sides["c1"].syncs == 2
    assert len(world.queue.tasks) == 1  # the flag was taken: no third run


def test_global_pause_skips_every_task(world: World) -> None:
    world.connect("c1")
    world.store.put_global_config({"sync_enabled": False})
    result = world.deliver("c1")
    assert (result.outcome, result.status_code) == (Outcome.SKIPPED, 200)
    assert world.sides["c1"].syncs == 0
    assert fan_out(world.store, world.queue, world.clock).paused
    assert not world.queue.tasks


def test_paused_connection_and_unknown_connection_are_skipped(world: World) -> None:
    world.connect("c1")
    world.store.update_connection("c1", {"status": ConnectionStatus.PAUSED})
    assert world.deliver("c1").outcome is Outcome.SKIPPED
    assert world.deliver("nope").outcome is Outcome.SKIPPED
    assert world.sides["c1"].syncs == 0


def test_globally_switched_off_kind_is_not_synced(world: World) -> None:
    world.connect("c1")
    world.store.put_global_config({"kinds": {"contacts": False, "events": True, "tasks": True}})
    assert world.deliver("c1").outcome is Outcome.SYNCED
    assert world.sides["c1"].syncs == 0


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ([], "JSON object"),
        ({}, "connection_id"),
        ({"connection_id": "c1", "reason": "later"}, "reason must be one of"),
        ({"connection_id": "c1", "continuation": -1}, "non-negative"),
        ({"connection_id": "c1", "task": ""}, "task must be"),
    ],
)
def test_bad_task_bodies_are_refused_with_a_reason(body: object, message: str) -> None:
    with pytest.raises(InvalidTask, match=message):
        SyncTask.parse(body)


def test_transient_error_type_is_the_projects() -> None:
    # The worker's retry mapping relies on the engine raising crmsync's TransientError.
    assert issubclass(type(map_error(TimeoutError("slow"))), TransientError)


class FailingRunLog(MemoryStore):
    """The final report's append_run fails once, as a Firestore outage would (the journal of a
    kind in progress, written before it, goes through)."""

    failures = 1

    def append_run(self, connection_id: str, run_id: str, summary: dict[str, Any], expires_at: datetime) -> None:
        if self.failures and summary.get("outcome") != "running":
            self.failures -= 1
            raise TimeoutError("deadline exceeded")
        super().append_run(connection_id, run_id, summary, expires_at)


def test_a_failed_report_releases_the_lease_so_the_retry_runs(world: World) -> None:
    world.store = FailingRunLog()
    world.connect("c1")
    with pytest.raises(TimeoutError):  # the entry point answers 500: Cloud Tasks retries
        world.deliver("c1", task="c1-4")
    conn = world.store.get_connection("c1")
    assert conn is not None
    assert conn.lease is None
    assert world.deliver("c1", task="c1-4").outcome is Outcome.SYNCED
    assert world.google_dupes("c1") == 0
