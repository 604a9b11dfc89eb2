"""Fan-out on fakes: named slot tasks, no double enqueue, jittered rescheduling, isolated failures."""

from __future__ import annotations

import random
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from crmsync.model.state import Connection, ConnectionStatus
from crmsync.queue.local import LocalTaskQueue
from crmsync.queue.memory import MemoryTaskQueue
from crmsync.services.fanout import FanoutSettings, due_task_name, fan_out
from crmsync.services.worker import SyncTask, handle_task
from crmsync.store.contract import Page
from crmsync.store.memory import MemoryStore
from tests.unit.scheduling.support import World

pytestmark = pytest.mark.unit


def test_each_due_connection_gets_one_named_task_and_moves_forward(world: World) -> None:
    for i in range(7):
        world.connect(f"c{i}", due=world.clock() - timedelta(minutes=i))
    world.connect("later", due=world.clock() + timedelta(minutes=1))
    result = fan_out(world.store, world.queue, world.clock, FanoutSettings(page_size=3), random.Random(1))
    assert (result.due, result.enqueued, result.rescheduled, result.pages) == (7, 7, 7, 3)
    served = {f"c{i}": due_task_name(f"c{i}", world.clock() - timedelta(minutes=i)) for i in range(7)}
    assert sorted(t.name or "" for t in world.queue.tasks) == sorted(served.values())
    task = world.queue.tasks[0]
    assert task.payload == {"connection_id": task.connection_id, "reason": "tick", "task": task.name}
    times = set()
    for i in range(7):
        conn = world.store.get_connection(f"c{i}")
        assert conn is not None
        assert conn.next_sync_at is not None
        delta = conn.next_sync_at - world.clock()
        assert timedelta(minutes=4.5) <= delta <= timedelta(minutes=5.5)
        times.add(conn.next_sync_at)
    assert len(times) == 7  # jittered: not all on one instant


def test_a_repeated_tick_for_the_same_due_time_enqueues_nothing_twice(world: World) -> None:
    world.connect("c1")
    due = world.clock()
    fan_out(world.store, world.queue, world.clock)
    world.store.update_connection("c1", {"next_sync_at": due})  # e.g. a tick that failed to reschedule
    world.clock.advance(minutes=1)
    again = fan_out(world.store, world.queue, world.clock)
    assert (again.enqueued, again.duplicates) == (0, 1)
    assert len(world.queue.tasks) == 1


def test_task_names_follow_the_due_time_they_serve() -> None:
    base = datetime(2026, 11, 20, 12, 0, 0, 123456, tzinfo=UTC)
    assert due_task_name("c", base) == due_task_name("c", base.astimezone(timezone(timedelta(hours=5))))
    assert due_task_name("c", base) == "c-due-1795176000123456"
    assert due_task_name("c", base) != due_task_name("c", base + timedelta(microseconds=1))
    assert due_task_name("c", base) != due_task_name("d", base)


def test_a_due_time_jitter_puts_early_still_gets_its_own_task(world: World) -> None:
    """Named by floor(now / interval), a run due 57 minutes after the last one (60 min interval, jitter)
    fell into the same hour slot, was a duplicate, and the poll was skipped (a gap of up to two hours)."""
    world.connect("c1", records=0)
    world.store.update_connection("c1", {"quiet_runs": 10})  # the 60-minute safety poll
    first = fan_out(world.store, world.queue, world.clock)
    world.store.update_connection("c1", {"next_sync_at": world.clock() + timedelta(minutes=57)})
    world.clock.advance(minutes=57)
    second = fan_out(world.store, world.queue, world.clock)
    assert (first.enqueued, second.enqueued, second.duplicates) == (1, 1, 0)
    assert len(world.queue.tasks) == 2


def test_non_active_connections_are_not_enqueued(world: World) -> None:
    for cid, status in (
        ("a", ConnectionStatus.ACTIVE),
        ("r", ConnectionStatus.NEEDS_REAUTH),
        ("p", ConnectionStatus.PAUSED),
    ):
        world.connect(cid)
        world.store.update_connection(cid, {"status": status})
    fan_out(world.store, world.queue, world.clock)
    assert [t.connection_id for t in world.queue.tasks] == ["a"]


class FlakyQueue(MemoryTaskQueue):
    """Fails every enqueue of the listed connections."""

    def __init__(self, failing: set[str]) -> None:
        super().__init__()
        self.failing = failing

    def enqueue(
        self, connection_id: str, *, name: str | None, delay_seconds: float = 0, payload: dict[str, Any]
    ) -> bool:
        if connection_id in self.failing:
            raise ConnectionResetError("queue unreachable")
        return super().enqueue(connection_id, name=name, delay_seconds=delay_seconds, payload=payload)


def test_a_failed_enqueue_leaves_the_connection_due_and_the_rest_go_on(world: World) -> None:
    for i in range(5):
        world.connect(f"c{i}")
    queue = FlakyQueue({"c2"})
    result = fan_out(world.store, queue, world.clock, FanoutSettings(page_size=2))
    assert (result.enqueued, result.failed) == (4, 1)
    assert world.store.get_connection("c2").next_sync_at == world.clock()  # type: ignore[union-attr]
    queue.failing.clear()
    assert fan_out(world.store, queue, world.clock).enqueued == 1  # the next tick catches up


class BrokenPageStore(MemoryStore):
    """The batched update fails for a page holding one connection, breaking that page."""

    def __init__(self, broken: str) -> None:
        super().__init__()
        self.broken = broken
        self.query_failures = 0

    def update_connections(self, fields_by_id: Mapping[str, dict[str, Any]]) -> None:
        if self.broken in fields_by_id:
            raise RuntimeError("backend said no")
        super().update_connections(fields_by_id)

    def due_connections(self, now: datetime, page_size: int = 500, start_after: str | None = None) -> Page[Connection]:
        if self.query_failures:
            self.query_failures -= 1
            raise TimeoutError("deadline exceeded")
        return super().due_connections(now, page_size, start_after)


def test_a_failing_page_is_logged_and_the_other_pages_continue(world: World, caplog: pytest.LogCaptureFixture) -> None:
    world.store = BrokenPageStore("c1")
    for i in range(6):
        world.connect(f"c{i}", due=world.clock() - timedelta(minutes=10 - i))
    world.store.query_failures = 2  # the first query fails twice, then answers
    result = fan_out(world.store, world.queue, world.clock, FanoutSettings(page_size=2))
    assert (result.pages, result.failed_pages, result.due) == (4, 1, 6)  # the 4th page is empty
    assert result.rescheduled == 4  # pages 2 and 3 fully moved forward
    assert "fan-out page 1 failed" in caplog.text


class BatchingStore(MemoryStore):
    """A store with batched connection updates, recording the batch sizes."""

    def __init__(self) -> None:
        super().__init__()
        self.batches: list[int] = []

    def update_connections(self, fields_by_id: Mapping[str, dict[str, Any]]) -> None:
        assert len(fields_by_id) <= 500
        self.batches.append(len(fields_by_id))
        for cid, fields in fields_by_id.items():
            super().update_connection(cid, fields)


def test_batched_reschedule_commits_at_most_500_per_batch(world: World) -> None:
    world.store = BatchingStore()
    for i in range(1200):
        world.connect(f"c{i:04d}", records=0)
    result = fan_out(world.store, world.queue, world.clock, FanoutSettings(page_size=1000))
    assert result.enqueued == result.rescheduled == 1200
    assert world.store.batches == [500, 500, 200]


def test_ticks_and_a_local_queue_sync_each_connection_once(world: World) -> None:
    for i in range(10):
        world.connect(f"c{i}")
    world.sides["c3"].google.fail_calls.append("list")  # first attempt of c3 fails: retried with backoff
    deps = world.deps()
    from crmsync.queue.local import Backoff

    queue = LocalTaskQueue(
        lambda body: handle_task(SyncTask.parse(body), deps).status_code, workers=4, backoff=Backoff(0.01, 0.05)
    )
    deps.queue = queue
    try:
        fan_out(world.store, queue, world.clock)
        fan_out(world.store, queue, world.clock)  # a duplicate tick
        assert queue.wait_idle(10)
    finally:
        queue.stop()
    assert {cid: s.syncs for cid, s in world.sides.items()} == {f"c{i}": 1 for i in range(10)} | {"c3": 2}
    assert [a.status for a in queue.attempts if a.connection_id == "c3"] == [503, 200]
    assert all(world.google_dupes(cid) == 0 for cid in world.sides)


def test_settings_from_env_name_the_bad_variable() -> None:
    assert FanoutSettings.from_env({}) == FanoutSettings()
    assert FanoutSettings.from_env({"CRMSYNC_FANOUT_CONCURRENCY": "8"}).concurrency == 8
    with pytest.raises(ValueError, match="CRMSYNC_FANOUT_PAGE_SIZE must be a number"):
        FanoutSettings.from_env({"CRMSYNC_FANOUT_PAGE_SIZE": "many"})
    with pytest.raises(ValueError, match="CRMSYNC_FANOUT_JITTER"):
        FanoutSettings.from_env({"CRMSYNC_FANOUT_JITTER": "1.5"})
