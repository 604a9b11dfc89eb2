"""The contract-suite fixture: the same tests run against the in-memory fake and the real reference CRM."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from crmsync.crm.fake import FakeCrm
from crmsync.crm.models import User
from crmsync.crm.port import CrmConnector
from crmsync.crm.rest import RestCrmConnector
from infra.crm import CrmServer

API_KEY = "test-key"


@dataclass
class Harness:
    """A connector plus the admin-side hooks a test needs (user seeding, restart)."""

    name: str
    connector: CrmConnector
    add_user: Callable[..., User]
    restart: Callable[[], CrmConnector] | None = None
    extras: dict[str, Any] = field(default_factory=dict)


def start_server(db: Path) -> tuple[CrmServer, RestCrmConnector]:
    """A reference CRM on a free port and a REST connector to it (no real sleeps on retry)."""
    server = CrmServer(db, api_key=API_KEY).start()
    return server, RestCrmConnector(server.base_url, API_KEY, sleep=lambda _s: None, max_attempts=2)


@pytest.fixture(params=["fake", "rest"])
def crm(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Harness]:
    """Each contract test runs twice: against FakeCrm and against the reference CRM over HTTP."""
    if request.param == "fake":
        fake = FakeCrm()
        yield Harness("fake", fake, fake.add_user)
        return
    db = tmp_path / "crm.sqlite"
    state: dict[str, Any] = {}
    state["server"], state["conn"] = start_server(db)

    def restart() -> CrmConnector:
        state["conn"].close()
        state["server"].stop()
        state["server"], state["conn"] = start_server(db)
        return state["conn"]  # type: ignore[no-any-return]

    harness = Harness("rest", state["conn"], lambda *a, **k: state["server"].store.add_user(*a, **k), restart, state)
    yield harness
    state["conn"].close()
    state["server"].stop()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[CrmServer]:
    """A bare reference CRM on a fresh database."""
    srv = CrmServer(tmp_path / "crm.sqlite", api_key=API_KEY).start()
    yield srv
    srv.stop()
