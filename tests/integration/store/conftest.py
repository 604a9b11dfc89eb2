"""Fixtures of the state-store tests: one suite over MemoryStore and FirestoreStore (on the emulator)."""

from __future__ import annotations

import pytest

from crmsync.ports import OpCounter
from crmsync.store.firestore import FirestoreStore
from crmsync.store.memory import MemoryStore
from tests.support.firestore_emulator import firestore_emulator_host, new_firestore_client

__all__ = ["firestore_emulator_host"]

AnyStore = MemoryStore | FirestoreStore


@pytest.fixture(
    params=[
        pytest.param("memory", marks=pytest.mark.unit),
        pytest.param("firestore", marks=pytest.mark.integration),
    ]
)
def store(request: pytest.FixtureRequest) -> AnyStore:
    """A fresh, empty store: in memory, or Firestore on its own emulator project."""
    if request.param == "memory":
        return MemoryStore(OpCounter())
    host_port = request.getfixturevalue("firestore_emulator_host")
    return FirestoreStore(new_firestore_client(host_port), OpCounter())
