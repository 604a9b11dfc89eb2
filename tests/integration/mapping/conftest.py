"""The local stack the custom-field tests sync through: the reference CRM over HTTP, the Google
emulator, and the run service (``sync_connection``) with the admin's field mapping."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests

from crmsync.crm.models import Record
from crmsync.crm.rest import RestCrmConnector
from crmsync.google.client import Endpoint
from crmsync.model.field_mapping import FieldMapping
from crmsync.model.kinds import Kind
from crmsync.model.settings import KindSettings, SyncSettings
from crmsync.model.state import Connection
from crmsync.services.run_sync import GRANT_SCOPES, GoogleAccess, RunDeps, sync_connection
from crmsync.store.memory import MemoryStore
from infra.crm import CrmServer
from tests.support.google import credentials, service

ACCOUNT = "custom@example.com"


class Stack:
    def __init__(self, emulator: Any, crm: CrmServer) -> None:
        self.crm_server = crm
        self.user = crm.store.add_user(ACCOUNT, "Ann", user_id="u1")
        grant = requests.post(
            emulator.base_url + "/__emulator/grants",
            json={"email": ACCOUNT, "client_id": "cid", "scopes": list(GRANT_SCOPES.values())},
            timeout=10,
        ).json()
        self.token = grant["refresh_token"]
        creds = credentials(emulator.state, ACCOUNT)
        self.people = service("people", emulator.base_url, creds).people()
        self.calendar = service("calendar", emulator.base_url, creds)
        self.tasks = service("tasks", emulator.base_url, creds)
        self.crm = RestCrmConnector(crm.base_url, "k", sleep=lambda _s: None)
        self.store = MemoryStore()
        self.base = emulator.base_url
        self.conn = Connection(
            id="conn-custom",
            crm_user_id="u1",
            google_subject="1",
            google_email=ACCOUNT,
            scopes=list(GRANT_SCOPES.values()),
            settings=SyncSettings(contacts=KindSettings(google_group=None)),
            created_at=datetime.now(UTC),
        )

    def run(self, mapping: FieldMapping, kind: Kind = Kind.CONTACTS) -> dict[str, Any]:
        deps = RunDeps(
            self.store,
            self.crm,
            GoogleAccess(Endpoint(self.base), "cid", "secret"),
            lambda: datetime.now(UTC),
            field_mapping=mapping,
        )
        summary = sync_connection(self.conn, self.token, deps, kinds=[kind]).as_dict()
        assert summary["complete"], summary
        return summary["kinds"][kind.value]  # type: ignore[no-any-return]

    def person(self, given: str) -> dict[str, Any]:
        fields = "names,userDefined,externalIds,events,relations,nicknames,occupations,metadata"
        listed = self.people.connections().list(resourceName="people/me", personFields=fields).execute()
        return next(p for p in listed.get("connections", []) if p["names"][0].get("givenName") == given)

    def record(self, kind: str, match: Any) -> Record:
        found = [c.record for c in self.crm.changes(kind, None).items if c.record is not None]  # type: ignore[arg-type]
        return next(r for r in found if match(r))


@pytest.fixture
def stack(emulator: Any, tmp_path: Path) -> Iterator[Stack]:
    server = CrmServer(tmp_path / "crm.sqlite", api_key="k")
    server.start()
    yield Stack(emulator, server)
    server.stop()
