"""The partitioned fan-out on the real Firestore emulator: legacy documents without a shard are found,
backfilled, and then every due connection is enqueued exactly once across parallel shards."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from google.cloud import firestore

from crmsync.model.settings import SyncSettings
from crmsync.model.state import Connection, ConnectionStatus
from crmsync.ports import OpCounter
from crmsync.queue.memory import MemoryTaskQueue
from crmsync.services.fanout import FanoutSettings, due_task_name, fan_out
from crmsync.store.codec import connection_to_doc
from crmsync.store.contract import DueConnection
from crmsync.store.due import DUE_SHARDS, due_shard, with_shard
from crmsync.store.firestore import FirestoreStore
from crmsync.store.queries import CONNECTIONS, DUE_SHARD_FIELDS
from crmsync.store.spec import project
from tests.support.firestore_emulator import new_firestore_client

pytestmark = pytest.mark.integration

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
STORED, LEGACY = 120, 180


def connection(cid: str, due: datetime, interval: int = 5) -> Connection:
    return Connection(
        id=cid,
        crm_user_id=f"u-{cid}",
        google_subject=f"s-{cid}",
        google_email=f"{cid}@example.com",
        settings=SyncSettings(interval_minutes=interval),
        next_sync_at=due,
        created_at=NOW - timedelta(days=3),
    )


def write_legacy(client: firestore.Client, conns: list[Connection]) -> None:
    """Documents as a version without shards wrote them (no due_shard field)."""
    batch = client.batch()
    for conn in conns:
        batch.set(client.collection(CONNECTIONS).document(conn.id), connection_to_doc(conn))
    batch.commit()


def test_legacy_and_new_documents_are_all_enqueued_once_before_and_after_the_backfill(
    firestore_emulator_host: str,
) -> None:
    client = new_firestore_client(firestore_emulator_host)
    store = FirestoreStore(client, OpCounter())
    ids = [f"c{i:04d}" for i in range(STORED + LEGACY)]
    for i, cid in enumerate(ids[:STORED]):
        store.put_connection(connection(cid, NOW - timedelta(seconds=i % 7)))  # equal times across pages
    write_legacy(client, [connection(cid, NOW - timedelta(seconds=i % 7)) for i, cid in enumerate(ids[STORED:])])
    store.put_connection(connection("later", NOW + timedelta(minutes=1)))
    store.put_connection(connection("paused", NOW).model_copy(update={"status": ConnectionStatus.PAUSED}))
    assert not store.due_shards_ready()
    seen_before = {c.id for s in range(DUE_SHARDS) for c in store.due_listing(NOW, s, page_size=500).items}
    assert seen_before == set(ids[:STORED])  # Firestore cannot list documents lacking the field

    queue = MemoryTaskQueue()
    first = fan_out(store, queue, lambda: NOW, FanoutSettings(page_size=50))
    assert not first.sharded
    assert (first.due, first.enqueued, first.rescheduled, first.failed_pages) == (300, 300, 300, 0)
    assert store.due_shards_ready()
    for snap in client.collection(CONNECTIONS).stream():
        assert snap.get("due_shard") == due_shard(snap.id), snap.id
    got = store.get_connection(ids[-1])  # the store-only field does not leak into the model
    assert got is not None
    assert got == connection(ids[-1], got.next_sync_at or NOW)

    later = NOW + timedelta(minutes=10)
    due_before = {cid: (store.get_connection(cid) or got).next_sync_at for cid in [*ids, "later"]}
    second = fan_out(store, queue, lambda: later, FanoutSettings(page_size=7, partitions=4))
    assert second.sharded
    assert (second.due, second.enqueued, second.rescheduled, second.failed_pages) == (301, 301, 301, 0)
    names = Counter(t.name for t in queue.tasks[first.enqueued :])
    assert names == Counter({due_task_name(cid, due): 1 for cid, due in due_before.items() if due is not None})
    again = fan_out(store, queue, lambda: later, FanoutSettings(page_size=7, partitions=4))
    assert (again.due, again.pages, again.failed_pages) == (0, DUE_SHARDS, 0)

    write_legacy(client, [connection("c0003", later)])  # rewritten by an older instance: its shard is gone
    next_day = later + timedelta(days=1)
    swept = fan_out(store, queue, lambda: next_day, FanoutSettings(page_size=500))
    assert swept.enqueued == 300  # c0003 invisible to the shards; the daily sweep after them gives it one back
    assert client.collection(CONNECTIONS).document("c0003").get().get("due_shard") == due_shard("c0003")
    found = fan_out(store, queue, lambda: next_day + timedelta(minutes=1), FanoutSettings(page_size=500))
    assert [t.connection_id for t in queue.tasks[-found.enqueued :]] == ["c0003"]


def test_the_projected_listing_reads_only_what_the_tick_needs(firestore_emulator_host: str) -> None:
    client = new_firestore_client(firestore_emulator_host)
    counter = OpCounter()
    store = FirestoreStore(client, counter)
    store.put_connection(connection("c1", NOW - timedelta(minutes=3), interval=30))
    store.put_connection(connection("c2", NOW + timedelta(minutes=3)))
    page = store.due_listing(NOW, due_shard("c1"))
    assert page.items == [DueConnection("c1", NOW - timedelta(minutes=3), 30)]
    reads = counter.counts["firestore.reads"]
    raw = client.collection(CONNECTIONS).select(list(DUE_SHARD_FIELDS)).stream()  # what Firestore projects
    stored = with_shard("c1", connection_to_doc(connection("c1", NOW - timedelta(minutes=3), interval=30)))
    assert {s.id: s.to_dict() for s in raw}["c1"] == project(stored, DUE_SHARD_FIELDS)  # the fake does the same
    assert reads == 1  # one row, one read


def test_the_projected_listing_carries_the_backoff_of_each_connection(firestore_emulator_host: str) -> None:
    """Adaptive polling: the tick reads each connection's quiet runs with its due time (a document
    written before the field existed reads as 0), and moves a quiet one by its backed-off interval."""
    client = new_firestore_client(firestore_emulator_host)
    store = FirestoreStore(client, OpCounter())
    store.put_connection(connection("quiet", NOW - timedelta(minutes=1)).model_copy(update={"quiet_runs": 3}))
    legacy = connection_to_doc(connection("old", NOW - timedelta(minutes=1)))
    del legacy["quiet_runs"]  # as written before adaptive polling
    client.collection(CONNECTIONS).document("old").set(legacy)
    while not store.backfill_due_shards(NOW):
        pass
    listed = [i for s in range(DUE_SHARDS) for i in store.due_listing(NOW, s).items]
    assert {d.id: d.quiet_runs for d in listed} == {"quiet": 3, "old": 0}
    result = fan_out(store, MemoryTaskQueue(), lambda: NOW, FanoutSettings(jitter=0.0))
    assert (result.sharded, result.enqueued) == (True, 2)
    moved = {cid: (store.get_connection(cid) or connection(cid, NOW)).next_sync_at for cid in ("quiet", "old")}
    assert moved == {"quiet": NOW + timedelta(minutes=40), "old": NOW + timedelta(minutes=5)}
