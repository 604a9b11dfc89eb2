"""Fixtures of the scheduling unit tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.unit.scheduling.support import World, registered


@pytest.fixture
def world() -> Iterator[World]:
    """A fresh in-memory world with its fake contacts kind registered for the test."""
    yield from registered(World())
