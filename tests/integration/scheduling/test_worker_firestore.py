"""The worker and fan-out over the real Firestore emulator: the lease transaction decides races."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest

from crmsync.ports import OpCounter
from crmsync.services.fanout import FanoutSettings, fan_out
from crmsync.services.worker import Outcome
from crmsync.store.firestore import FirestoreStore
from tests.support.firestore_emulator import new_firestore_client
from tests.unit.scheduling.support import World, registered

pytestmark = pytest.mark.integration


@pytest.fixture
def world(firestore_emulator_host: str) -> Iterator[World]:
    w = World()
    w.store = FirestoreStore(new_firestore_client(firestore_emulator_host), OpCounter())  # type: ignore[assignment]
    yield from registered(w)


def test_concurrent_deliveries_of_one_task_run_one_sync(world: World) -> None:
    world.connect("c1")
    start = threading.Barrier(2)
    outcomes: list[Outcome] = []

    def deliver() -> None:
        start.wait()
        outcomes.append(world.deliver("c1", task="c1-77").outcome)

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert outcomes.count(Outcome.SYNCED) == 1, outcomes
    assert world.sides["c1"].syncs == 1
    assert world.deliver("c1", task="c1-77").outcome is Outcome.SKIPPED  # a late duplicate
    conn = world.store.get_connection("c1")
    assert conn is not None
    assert conn.lease is None
    assert [r["outcome"] for r in world.store.recent_runs("c1")] == ["synced"]


def test_an_expired_lease_of_a_dead_run_is_taken_over(world: World) -> None:
    world.connect("c1")
    assert world.store.acquire_lease("c1", "dead-run", world.settings.lease_ttl, world.clock())
    assert world.deliver("c1", task="c1-1").outcome is Outcome.BUSY
    world.clock.advance(seconds=world.settings.lease_ttl.total_seconds() + 1)
    assert world.deliver("c1", task="c1-1").outcome is Outcome.SYNCED
    assert world.google_dupes("c1") == 0


def test_fanout_pages_the_due_query_and_reschedules(world: World) -> None:
    for i in range(12):
        world.connect(f"c{i:02d}", records=0, due=world.clock() - timedelta(minutes=i))
    world.connect("future", records=0, due=world.clock() + timedelta(hours=1))
    result = fan_out(world.store, world.queue, world.clock, FanoutSettings(page_size=5))
    assert (result.due, result.enqueued, result.rescheduled, result.failed_pages) == (12, 12, 12, 0)
    again = fan_out(world.store, world.queue, world.clock)
    assert again.due == 0  # all moved forward
    assert len({t.name for t in world.queue.tasks}) == 12
