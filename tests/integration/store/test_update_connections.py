"""Batched connection updates (the fan-out's rescheduling): both stores, commits of at most 500."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from crmsync.model.state import Connection
from crmsync.ports import OpCounter
from crmsync.store.memory import MemoryStore

pytestmark = pytest.mark.unit


def test_update_connections_batches_500_per_commit() -> None:
    counter = OpCounter()
    store = MemoryStore(counter)
    now = datetime(2026, 11, 22, tzinfo=UTC)
    for i in range(1201):
        store.put_connection(
            Connection(id=f"c{i}", crm_user_id=f"u{i}", google_subject="s", google_email="e@x.org", created_at=now)
        )
    before = dict(counter.counts)
    store.update_connections({f"c{i}": {"next_sync_at": now + timedelta(minutes=5)} for i in range(1201)})
    assert counter.counts["firestore.commits"] - before.get("firestore.commits", 0) == 3
    assert counter.counts["firestore.writes"] - before.get("firestore.writes", 0) == 1201
    assert store.get_connection("c1200").next_sync_at == now + timedelta(minutes=5)  # type: ignore[union-attr]
