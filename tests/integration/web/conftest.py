"""A running web stack per test, on the session's Google emulator."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from infra.google_emulator.server import EmulatorServer
from tests.integration.web.stack import Stack, running_stack


@pytest.fixture
def stack(emulator: EmulatorServer, tmp_path: Path) -> Iterator[Stack]:
    """The web app over real HTTP, wired to the emulator (consent page, not auto-approve)."""
    with running_stack(emulator.base_url, tmp_path) as s:
        yield s
