"""Fixtures of the state-store tests: one suite over MemoryStore and FirestoreStore (on the emulator)."""

from __future__ import annotations

import pytest

from crmsync.ports import OpCounter
from crmsync.store.firestore import FirestoreStore
from crmsync.store.memory import MemoryStore
from crmsync.store.sqlite import SqliteStore
from tests.support.firestore_emulator import firestore_emulator_host, new_firestore_client

__all__ = ["firestore_emulator_host"]

AnyStore = MemoryStore | FirestoreStore  # SqliteStore is a MemoryStore


@pytest.fixture(
    params=[
        pytest.param("memory", marks=pytest.mark.unit),
        pytest.param("sqlite", marks=pytest.mark.unit),
        pytest.param("firestore", marks=pytest.mark.integration),
    ]
)
def store(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> AnyStore:
    """A fresh, empty store: in memory, in a local SQLite file, or Firestore on its own emulator project."""
    if request.param == "memory":
        return MemoryStore(OpCounter())
    if request.param == "sqlite":
        return SqliteStore(tmp_path_factory.mktemp("sqlite") / "state.sqlite", OpCounter())
    host_port = request.getfixturevalue("firestore_emulator_host")
    return FirestoreStore(new_firestore_client(host_port), OpCounter())
