"""A CRM that refuses crmsync's API key at run time (the key was revoked or rotated) is the
operator's to fix, like Google's accessNotConfigured: the run says so under a stable alert code,
the page tells the user their administrator must act, and the connection is kept (no reconnect
asked of the user, no generic "unexpected error")."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests

from crmsync.crm.rest import RestCrmConnector
from crmsync.google.client import Endpoint
from crmsync.model.kinds import Kind
from crmsync.model.settings import KindSettings, SyncSettings
from crmsync.model.state import Connection
from crmsync.services.admin_config import AdminConfig
from crmsync.services.health import Action, State, kind_health
from crmsync.services.run_sync import GRANT_SCOPES, GoogleAccess, RunDeps, sync_connection
from crmsync.services.status import summarise_run
from crmsync.store.memory import MemoryStore
from infra.crm import CrmServer

pytestmark = pytest.mark.integration
ACCOUNT = "revoked@example.com"


@pytest.fixture
def crm(tmp_path: Path) -> Iterator[CrmServer]:
    server = CrmServer(tmp_path / "crm.sqlite", api_key="the-current-key")
    server.start()
    yield server
    server.stop()


@pytest.mark.parametrize(
    ("key", "user", "alert"),
    [("a-revoked-key", "u1", "crm.api_key_refused"), ("the-current-key", "usr_gone", "crm.access_refused")],
)
def test_regression_a_crm_refusing_the_key_at_run_time_is_an_operator_alert(
    emulator: Any, crm: CrmServer, key: str, user: str, alert: str, caplog: pytest.LogCaptureFixture
) -> None:
    crm.store.add_user("ann@crm.example", "Ann", user_id="u1")
    grant = requests.post(
        emulator.base_url + "/__emulator/grants",
        json={"email": ACCOUNT, "client_id": "cid", "scopes": list(GRANT_SCOPES.values())},
        timeout=10,
    ).json()
    conn = Connection(
        id="conn-revoked",
        crm_user_id=user,
        google_subject="1",
        google_email=ACCOUNT,
        scopes=list(GRANT_SCOPES.values()),
        settings=SyncSettings(contacts=KindSettings(google_group=None)),
        created_at=datetime.now(UTC),
    )
    connector = RestCrmConnector(crm.base_url, key, sleep=lambda _s: None)
    deps = RunDeps(
        MemoryStore(), connector, GoogleAccess(Endpoint(emulator.base_url), "cid", "secret"), lambda: datetime.now(UTC)
    )
    run = sync_connection(conn, grant["refresh_token"], deps, kinds=[Kind.CONTACTS]).as_dict()
    entry = run["kinds"]["contacts"]
    assert entry["alert"] == alert, run
    assert "administrator" in entry["stopped"] and ("401" in entry["stopped"] or "403" in entry["stopped"])
    assert any(getattr(r, "alert", None) == alert for r in caplog.records)  # what operators alert on
    assert summarise_run(run).ok is False
    health = kind_health(Kind.CONTACTS, conn, AdminConfig(), True, [run], None, False)
    assert (health.state, health.action) == (State.STOPPED, Action.ASK_ADMIN)
