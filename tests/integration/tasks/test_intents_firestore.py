"""Creation intents in Firestore (the emulator) behave like the in-memory store."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from crmsync.google.intents import FirestoreIntentStore, Intent, MemoryIntentStore, doc_id
from tests.support.firestore_emulator import firestore_emulator_host, new_firestore_client

__all__ = ["firestore_emulator_host"]
pytestmark = pytest.mark.integration
WHEN = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


@pytest.fixture(params=["memory", "firestore"])
def intents(request: pytest.FixtureRequest) -> Any:
    if request.param == "memory":
        return MemoryIntentStore()
    client = new_firestore_client(request.getfixturevalue("firestore_emulator_host"))
    return FirestoreIntentStore(client, "conn1")


def test_record_fulfil_and_forget(intents: Any) -> None:
    a = Intent("tsk_a", "L1", "h1", 3, WHEN)
    b = Intent("odd/id with spaces", "L1", "h2", 4, WHEN)
    intents.record([a, b])
    assert sorted(intents.pending(), key=lambda i: i.crm_id) == sorted([a, b], key=lambda i: i.crm_id)
    intents.record([a.fulfilled("T1")])
    assert {i.crm_id: i.task_id for i in intents.pending()} == {"tsk_a": "T1", "odd/id with spaces": None}
    intents.forget(["tsk_a", "never-recorded"])
    assert [i.crm_id for i in intents.pending()] == ["odd/id with spaces"]
    assert intents.counter.counts["intents.writes"] == 5


def test_firestore_documents_live_under_the_connection(firestore_emulator_host: str) -> None:
    client = new_firestore_client(firestore_emulator_host)
    FirestoreIntentStore(client, "conn9").record([Intent("tsk_a", "L1", "h1", 1, WHEN)])
    snap = (
        client.collection("connections")
        .document("conn9")
        .collection("intents")
        .document(doc_id("tasks", "tsk_a"))
        .get()
    )
    data = snap.to_dict()
    assert data["kind"] == "tasks"
    assert data["expires_at"] > WHEN  # a TTL policy on expires_at drops intents of idle connections
    assert FirestoreIntentStore(client, "conn8").pending() == []
