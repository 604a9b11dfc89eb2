"""Declared-query evaluation (Firestore semantics) and the thread safety of MemoryStore."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest

from crmsync.model.kinds import Kind
from crmsync.ports import OpCounter
from crmsync.store.contract import StoreError
from crmsync.store.memory import MemoryStore
from crmsync.store.queries import CONNECTIONS_BY_STATUS, DUE_CONNECTIONS, LINKS_OF_KIND
from crmsync.store.spec import Spec
from tests.integration.store.helpers import make_link
from tests.support.firestore_emulator import FirestoreEmulatorError, find_emulator

pytestmark = pytest.mark.unit

D1 = datetime(2026, 1, 1, tzinfo=UTC)
D2 = datetime(2026, 1, 2, tzinfo=UTC)


def test_spec_needs_exactly_the_declared_equality_fields() -> None:
    with pytest.raises(StoreError, match="filters on"):
        Spec(DUE_CONNECTIONS, {})
    with pytest.raises(StoreError, match="no ordered field"):
        Spec(LINKS_OF_KIND, {"kind": "contacts"}, at_most=D1)


def test_spec_filters_orders_and_pages_like_firestore() -> None:
    rows = [
        ("b", {"status": "active", "next_sync_at": D1}),
        ("a", {"status": "active", "next_sync_at": D1}),
        ("c", {"status": "active", "next_sync_at": D2}),
        ("d", {"status": "active", "next_sync_at": None}),  # null never satisfies <=
        ("e", {"status": "active"}),  # missing field never matches
        ("f", {"status": "paused", "next_sync_at": D1}),
    ]
    due = Spec(DUE_CONNECTIONS, {"status": "active"}, at_most=D2)
    assert [i for i, _ in due.run(rows)] == ["a", "b", "c"]
    after_a = Spec(DUE_CONNECTIONS, {"status": "active"}, at_most=D2, after=(D1, "a"), limit=1)
    assert [i for i, _ in after_a.run(rows)] == ["b"]

    newest = Spec(CONNECTIONS_BY_STATUS, {"status": "active"})
    created = [(i, {"status": d["status"], "created_at": d.get("next_sync_at")}) for i, d in rows]
    assert [i for i, _ in newest.run(created)] == ["c", "b", "a", "e", "d"]  # descending: nulls last, ids descending


def test_memory_store_is_safe_under_concurrent_writers() -> None:
    store = MemoryStore(OpCounter())
    links = store.connection_store("c1")

    def write(worker: int) -> None:
        for i in range(50):
            links.save_links([make_link(f"{worker}-{i}")], [])

    threads = [threading.Thread(target=write, args=(w,)) for w in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert links.count_links(Kind.CONTACTS) == 400
    assert store.counter.counts["firestore.commits"] == 400
    assert store.counter.counts["firestore.writes"] == 400


def test_missing_java_is_reported_with_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JAVA", "/nonexistent/java")
    with pytest.raises(FirestoreEmulatorError, match="apt-get install google-cloud-cli-firestore-emulator"):
        find_emulator()
