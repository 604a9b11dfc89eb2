"""A CRM declares what it offers (GET /capabilities); crmsync switches the rest off with an explanation
instead of failing every run on the missing endpoints."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests

from crmsync.crm.models import Capabilities
from crmsync.crm.rest import RestCrmConnector
from crmsync.google.client import Endpoint
from crmsync.model.kinds import Kind
from crmsync.model.settings import ContactOptions, KindSettings, SyncSettings
from crmsync.model.state import Connection
from crmsync.services.run_sync import GRANT_SCOPES, GoogleAccess, RunDeps, sync_connection
from crmsync.store.memory import MemoryStore
from infra.crm import CrmServer
from tests.support.google import credentials, service

pytestmark = pytest.mark.integration
ACCOUNT = "caps@example.com"


@pytest.fixture
def small_crm(tmp_path: Path) -> Iterator[CrmServer]:
    """A CRM with contacts and activities only: no companies, no tasks."""
    server = CrmServer(
        tmp_path / "crm.sqlite", api_key="k", capabilities=Capabilities(kinds=["contacts", "activities"])
    )
    server.start()
    yield server
    server.stop()


def test_the_reference_crm_declares_its_capabilities(small_crm: CrmServer) -> None:
    auth = {"Authorization": "Bearer k"}
    caps = requests.get(small_crm.base_url + "/capabilities", headers=auth, timeout=10).json()
    assert caps["kinds"] == ["contacts", "activities"] and caps["recurrence_exceptions"] is True
    assert requests.get(small_crm.base_url + "/tasks/changes", headers=auth, timeout=10).status_code == 404
    assert RestCrmConnector(small_crm.base_url, "k").capabilities().offers("companies") is False


def test_kinds_the_crm_lacks_are_skipped_with_an_explanation_and_the_rest_syncs(
    emulator: Any, small_crm: CrmServer
) -> None:
    user = small_crm.store.add_user("ann@crm.example", "Ann", user_id="u1")
    small_crm.store.create("contacts", {"given_name": "Ada"}, "k1", user)
    grant = requests.post(
        emulator.base_url + "/__emulator/grants",
        json={"email": ACCOUNT, "client_id": "cid", "scopes": list(GRANT_SCOPES.values())},
        timeout=10,
    ).json()
    people = service("people", emulator.base_url, credentials(emulator.state, ACCOUNT))
    people.people().createContact(
        body={"names": [{"givenName": "Bo"}], "organizations": [{"name": "ACME GmbH", "title": "CTO"}]}
    ).execute()
    conn = Connection(
        id="conn-caps",
        crm_user_id="u1",
        google_subject="1",
        google_email=ACCOUNT,
        scopes=list(GRANT_SCOPES.values()),
        settings=SyncSettings(
            contacts=KindSettings(google_group=None),
            contact_options=ContactOptions(default_region="DE", create_companies=True),
        ),
        created_at=datetime.now(UTC),
    )
    crm = RestCrmConnector(small_crm.base_url, "k", sleep=lambda _s: None)
    deps = RunDeps(
        MemoryStore(), crm, GoogleAccess(Endpoint(emulator.base_url), "cid", "secret"), lambda: datetime.now(UTC)
    )
    run = sync_connection(conn, grant["refresh_token"], deps, kinds=[Kind.CONTACTS, Kind.TASKS]).as_dict()
    assert run["complete"], run
    assert "does not offer tasks" in run["kinds"]["tasks"]["skipped"]
    assert run["kinds"]["contacts"]["writes"] == {"google.create": 1, "crm.create": 1}
    bo = next(c for c in crm.changes("contacts", None).items if c.record and c.record.given_name == "Bo")  # type: ignore[union-attr]
    assert bo.record.company_id is None and bo.record.title == "CTO"  # type: ignore[union-attr]
