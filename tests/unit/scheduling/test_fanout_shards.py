"""Partitioned fan-out on the memory store: disjoint shards, projected listing, isolated shard failures,
the time budget, and the backfill of connection documents written before shards existed."""

from __future__ import annotations

import random
from collections import Counter
from datetime import datetime, timedelta

import pytest

from crmsync.model.state import Connection, ConnectionStatus
from crmsync.services.fanout import FanoutSettings, due_task_name, fan_out
from crmsync.store.contract import MAX_BATCH_WRITES, DueConnection, Page, StoreError
from crmsync.store.due import DUE_SHARDS, due_shard
from crmsync.store.memory import MemoryStore
from tests.unit.scheduling.support import NOW, World

pytestmark = pytest.mark.unit


def ready(store: MemoryStore) -> MemoryStore:
    """Finish the shard backfill, as a store's first tick does."""
    while not store.backfill_due_shards(NOW):
        pass
    assert store.due_shards_ready()
    return store


def connect_many(world: World, n: int, *, step_s: int = 1) -> None:
    for i in range(n):
        world.connect(f"c{i:04d}", records=0, due=world.clock() - timedelta(seconds=(i * step_s) % 600))


def task_ids(world: World) -> Counter[str]:
    return Counter(t.connection_id for t in world.queue.tasks)


def test_shards_are_stable_and_spread_over_every_partition() -> None:
    shards = Counter(due_shard(f"c{i:04d}") for i in range(1600))
    assert set(shards) == set(range(DUE_SHARDS))
    assert max(shards.values()) < 2 * 1600 / DUE_SHARDS  # roughly even
    assert due_shard("c0001") == due_shard("c0001")


def test_the_shards_partition_the_due_set_without_gaps_or_repeats_at_page_boundaries(world: World) -> None:
    store = world.store
    connect_many(world, 300, step_s=0)  # every connection due at the same instant: pages split on the id
    ready(store)
    seen: list[str] = []
    for shard in range(DUE_SHARDS):
        cursor = None
        while True:
            page = store.due_listing(world.clock(), shard, page_size=4, start_after=cursor)
            seen += [c.id for c in page.items]
            assert all(due_shard(c.id) == shard for c in page.items)
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
    assert sorted(seen) == [f"c{i:04d}" for i in range(300)]


def test_a_sharded_tick_enqueues_every_due_connection_exactly_once(world: World) -> None:
    connect_many(world, 500)
    world.connect("later", records=0, due=world.clock() + timedelta(minutes=1))
    world.connect("paused", records=0)
    world.store.update_connection("paused", {"status": ConnectionStatus.PAUSED})
    ready(world.store)
    result = fan_out(world.store, world.queue, world.clock, FanoutSettings(page_size=7, partitions=4))
    assert result.sharded
    assert (result.due, result.enqueued, result.rescheduled, result.failed_pages) == (500, 500, 500, 0)
    assert task_ids(world) == Counter({f"c{i:04d}": 1 for i in range(500)})
    again = fan_out(world.store, world.queue, world.clock, FanoutSettings(partitions=4))
    assert (again.due, again.pages) == (0, DUE_SHARDS)  # all moved forward; one empty page per shard


def test_the_projection_returns_what_the_tick_needs_and_nothing_else(world: World) -> None:
    world.connect("c1", records=0, interval=15, due=world.clock() - timedelta(minutes=2))
    ready(world.store)
    page = world.store.due_listing(world.clock(), due_shard("c1"))
    assert page.items == [DueConnection("c1", world.clock() - timedelta(minutes=2), 15)]
    assert page.next_cursor is None
    with pytest.raises(StoreError, match="shard must be an integer from 0 to 15"):
        world.store.due_listing(world.clock(), DUE_SHARDS)


def test_the_task_name_and_the_next_run_follow_each_connections_interval(world: World) -> None:
    world.connect("fast", records=0, interval=5)
    world.connect("slow", records=0, interval=60)
    ready(world.store)
    fan_out(world.store, world.queue, world.clock, FanoutSettings(jitter=0), random.Random(3))
    names = {t.connection_id: t.name for t in world.queue.tasks}
    now = world.clock()
    assert names == {"fast": due_task_name("fast", now), "slow": due_task_name("slow", now)}
    assert world.store.get_connection("slow").next_sync_at == now + timedelta(minutes=60)  # type: ignore[union-attr]


class FailingShardStore(MemoryStore):
    """The listing of one shard always fails (e.g. a hot index range timing out)."""

    def __init__(self, broken_shard: int) -> None:
        super().__init__()
        self.broken_shard = broken_shard

    def due_listing(
        self, now: datetime, shard: int, page_size: int = 500, start_after: str | None = None
    ) -> Page[DueConnection]:
        if shard == self.broken_shard:
            raise TimeoutError("deadline exceeded")
        return super().due_listing(now, shard, page_size, start_after)


def test_a_failing_shard_is_logged_and_the_others_go_on(world: World, caplog: pytest.LogCaptureFixture) -> None:
    broken = due_shard("c0000")
    world.store = FailingShardStore(broken)
    connect_many(world, 200)
    ready(world.store)
    result = fan_out(world.store, world.queue, world.clock, FanoutSettings(page_size=5))
    in_broken = {f"c{i:04d}" for i in range(200) if due_shard(f"c{i:04d}") == broken}
    assert in_broken and result.failed_pages == 1
    assert set(task_ids(world)) == {f"c{i:04d}" for i in range(200)} - in_broken
    assert result.enqueued == result.rescheduled == 200 - len(in_broken)
    assert "due-connections query failed (attempt 3 of 3)" in caplog.text
    for cid in in_broken:  # still due: the next tick takes them
        assert world.store.get_connection(cid).next_sync_at <= world.clock()  # type: ignore[union-attr,operator]


def test_a_failing_page_of_one_shard_does_not_stop_that_shard_or_the_others(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    class BrokenWrites(MemoryStore):
        def update_connections(self, fields_by_id: dict[str, dict[str, object]]) -> None:  # type: ignore[override]
            if "c0000" in fields_by_id:
                raise RuntimeError("backend said no")
            super().update_connections(fields_by_id)

    world.store = BrokenWrites()
    connect_many(world, 120)
    ready(world.store)
    result = fan_out(world.store, world.queue, world.clock, FanoutSettings(page_size=2))
    assert result.failed_pages == 1
    assert result.due == 120
    assert result.rescheduled == 118  # the broken page's two connections stay due
    assert f"of shard {due_shard('c0000')} failed" in caplog.text


def test_the_budget_stops_paging_and_the_next_tick_continues(world: World) -> None:
    connect_many(world, 400)
    ready(world.store)
    tiny = FanoutSettings(page_size=3, max_seconds=1e-9)  # past the budget after every shard's first page
    first = fan_out(world.store, world.queue, world.clock, tiny)
    assert first.truncated and first.due == 3 * DUE_SHARDS
    total = first.enqueued
    for _ in range(200):
        tick = fan_out(world.store, world.queue, world.clock, tiny)
        total += tick.enqueued
        if not tick.truncated:
            break
    assert total == 400
    assert task_ids(world) == Counter({f"c{i:04d}": 1 for i in range(400)})


def test_legacy_documents_are_found_before_and_after_the_backfill(world: World) -> None:
    store = world.store
    for i in range(40):
        conn = world.connect(f"c{i:04d}", records=0)
        store.write_legacy_connection(conn)  # as written before shards existed: no due_shard
    assert not store.due_shards_ready()
    assert all(not store.due_listing(world.clock(), s).items for s in range(DUE_SHARDS))  # invisible to shards

    first = fan_out(store, world.queue, world.clock, FanoutSettings(page_size=100))
    assert not first.sharded and first.enqueued == 40  # the unsharded listing found them all
    assert store.due_shards_ready()  # and the tick backfilled every shard

    world.clock.advance(minutes=10)
    second = fan_out(store, world.queue, world.clock, FanoutSettings(page_size=100))
    assert second.sharded and second.enqueued == 40


def test_the_backfill_resumes_where_it_stopped() -> None:
    store = MemoryStore()
    for i in range(21):
        store.write_legacy_connection(
            Connection(
                id=f"x{i:04d}",
                crm_user_id="u",
                google_subject="s",
                google_email="e@x.org",
                created_at=NOW,
                next_sync_at=NOW,
            )
        )
    store.put_connection(  # written by this version: its shard is there already and is not rewritten
        Connection(
            id="x0005", crm_user_id="u", google_subject="s", google_email="e@x.org", created_at=NOW, next_sync_at=NOW
        )
    )
    before = store.counter.counts["firestore.writes"]
    assert [store.backfill_due_shards(NOW, 10), store.backfill_due_shards(NOW, 10)] == [False, False]
    assert not store.due_shards_ready()
    assert store.backfill_due_shards(NOW, 10) and store.due_shards_ready()
    assert store.counter.counts["firestore.writes"] - before == 20 + 3  # 20 stale shards, 3 position markers
    assert store.backfill_due_shards(NOW + timedelta(hours=23))  # done: nothing more is written until a day passed
    assert store.counter.counts["firestore.writes"] - before == 23
    assert all(store.due_listing(NOW, due_shard(f"x{i:04d}")).items for i in range(21))


def test_partitions_setting_is_checked() -> None:
    assert FanoutSettings.from_env({"CRMSYNC_FANOUT_PARTITIONS": "4"}).partitions == 4
    with pytest.raises(ValueError, match="CRMSYNC_FANOUT_PARTITIONS must be 1-16"):
        FanoutSettings(partitions=17)


def test_a_document_that_lost_its_shard_is_found_by_the_daily_sweep(world: World) -> None:
    connect_many(world, 30)
    ready(world.store)
    lost = world.store.get_connection("c0007")
    assert lost is not None
    world.store.write_legacy_connection(lost)  # e.g. rewritten by an older instance during a rolling deploy
    world.clock.advance(hours=1)
    tick = fan_out(world.store, world.queue, world.clock)
    assert tick.sharded and tick.enqueued == 29  # invisible to the shards, and no sweep is due yet
    world.clock.advance(hours=24)
    tick = fan_out(world.store, world.queue, world.clock)  # this tick sweeps after its shards
    assert tick.enqueued == 29
    world.clock.advance(minutes=10)
    assert fan_out(world.store, world.queue, world.clock).enqueued == 30  # found again


def test_a_sweep_page_and_its_marker_fit_one_batch_of_500_writes() -> None:
    store = MemoryStore()
    for i in range(MAX_BATCH_WRITES + 100):
        store.write_legacy_connection(
            Connection(id=f"y{i:04d}", crm_user_id="u", google_subject="s", google_email="e@x.org", created_at=NOW)
        )
    assert not store.backfill_due_shards(NOW)
    assert (store.counter.counts["firestore.commits"], store.counter.counts["firestore.writes"]) == (1, 500)
