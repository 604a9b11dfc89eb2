"""The Firestore emulator for tests: the session fixture over ``infra.firestore_emulator``.

Reuse from any conftest:

    from tests.support.firestore_emulator import firestore_emulator_host, new_firestore_client  # noqa: F401

``firestore_emulator_host`` is a session fixture (one emulator per xdist worker, on a free
port); ``new_firestore_client(host)`` returns a client on a fresh project id, so tests and
workers never see each other's data.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from infra.firestore_emulator import (  # noqa: F401  (re-exported for tests)
    INSTALL_HINT,
    EmulatorStopper,
    FirestoreEmulatorError,
    _group_alive,
    find_emulator,
    new_firestore_client,
    reset_project,
    start_firestore_emulator,
)


@pytest.fixture(scope="session")
def firestore_emulator_host() -> Iterator[str]:
    """One Firestore emulator per test session (per xdist worker); sets FIRESTORE_EMULATOR_HOST."""
    host_port, stop = start_firestore_emulator()
    previous = os.environ.get("FIRESTORE_EMULATOR_HOST")
    os.environ["FIRESTORE_EMULATOR_HOST"] = host_port
    try:
        yield host_port
    finally:
        stop()
        if previous is None:
            os.environ.pop("FIRESTORE_EMULATOR_HOST", None)
        else:
            os.environ["FIRESTORE_EMULATOR_HOST"] = previous
