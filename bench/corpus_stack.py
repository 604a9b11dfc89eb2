"""The whole sync over real wire protocols for real-world records (issue 12's tests and corpus run): the reference CRM over HTTP
(empty apart from its users), the Google emulator through the Google client libraries, and
``sync_connection`` between them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests

from crmsync.crm.rest import RestCrmConnector
from crmsync.google.client import Endpoint, build_service
from crmsync.model.event import EventOptions, Window
from crmsync.model.settings import ContactOptions, SyncSettings
from crmsync.model.state import Connection
from crmsync.services.run_sync import GRANT_SCOPES, GoogleAccess, RunDeps, sync_connection
from crmsync.store.memory import MemoryStore
from infra.crm import CrmServer
from infra.crm.seed import seed
from infra.google_emulator.core import SCOPE_CALENDAR, SCOPE_CONTACTS
from infra.google_emulator.people import seed as seed_people

ACCOUNT = "demo@example.com"
CRM_GROUP = "contactGroups/crmgroup1"


class Stack:
    """One connection between the reference CRM and one emulator account."""

    def __init__(self, emulator: Any, crm_server: CrmServer, crm_user: str, settings: SyncSettings) -> None:
        self.emulator = emulator
        self.base = emulator.base_url
        self.crm_server = crm_server
        self.crm = RestCrmConnector(crm_server.base_url, "k", sleep=lambda _s: None)
        self.crm_user = crm_user
        grant = requests.post(
            self.base + "/__emulator/grants",
            json={"email": ACCOUNT, "client_id": "cid", "scopes": list(GRANT_SCOPES.values())},
            timeout=10,
        ).json()
        self.refresh_token = grant["refresh_token"]
        self.store = MemoryStore()
        self.conn = Connection(
            id="conn-records",
            crm_user_id=crm_user,
            google_subject="1",
            google_email=ACCOUNT,
            scopes=[GRANT_SCOPES[k] for k in GRANT_SCOPES],
            settings=settings,
            created_at=datetime.now(UTC),
        )
        self.deps = RunDeps(
            self.store, self.crm, GoogleAccess(Endpoint(self.base), "cid", "secret"), lambda: datetime.now(UTC)
        )

    def sync(self) -> dict[str, Any]:
        """One run; the summary as a dict."""
        return sync_connection(self.conn, self.refresh_token, self.deps).as_dict()

    def seed_google_contacts(self, people: list[dict[str, Any]]) -> list[str]:
        """Put Persons into the account, in the CRM group; their resource names."""
        member = {"contactGroupMembership": {"contactGroupResourceName": CRM_GROUP}}
        body = {
            "contactGroups": [{"resourceName": CRM_GROUP, "name": "CRM"}],
            "connections": [{**p, "memberships": [member]} for p in people],
        }
        made = seed_people(self.emulator.state.account(ACCOUNT), self.emulator.state, body)
        return [c["resourceName"] for c in made["connections"]]

    def service(self, api: str) -> Any:
        """A Google API client (People or Calendar) for the account, as the user's own apps would use."""
        scope = {"people": SCOPE_CONTACTS, "calendar": SCOPE_CALENDAR}[api]
        token = self.emulator.state.mint_access_token(ACCOUNT, frozenset({scope}))
        from google.oauth2.credentials import Credentials

        credentials = Credentials(token=token.token)  # type: ignore[no-untyped-call]
        return build_service(api, credentials, Endpoint(self.base, timeout=30))

    def google_events(self) -> dict[str, dict[str, Any]]:
        """Every event (series masters and single events) and moved occurrence of the primary calendar, by id."""
        events, out, token = self.service("calendar").events(), {}, None
        while True:
            page = events.list(calendarId="primary", maxResults=2500, pageToken=token).execute()
            out.update({e["id"]: e for e in page.get("items") or []})
            token = page.get("nextPageToken")
            if not token:
                return out

    def crm_activities(self) -> dict[str, Any]:
        """Every CRM activity of the user, by id."""
        out, cursor = {}, None
        while True:
            page = self.crm.changes("activities", cursor, limit=1000, on_behalf_of=self.crm_user)
            out.update({c.id: c.record for c in page.items if c.record is not None})
            cursor = page.next_cursor
            if not page.has_more:
                return out

    def google_contacts(self) -> dict[str, dict[str, Any]]:
        """Every Person in the account by resource name, as the emulator holds it."""
        dump = requests.get(self.base + "/__emulator/dump", params={"account": ACCOUNT}, timeout=10).json()
        return {p["resourceName"]: p for p in dump["people"]["connections"]}

    def crm_contacts(self) -> dict[str, Any]:
        """Every CRM contact of the user, by id."""
        out, cursor = {}, None
        while True:
            page = self.crm.changes("contacts", cursor, limit=1000, on_behalf_of=self.crm_user)
            out.update({c.id: c.record for c in page.items if c.record is not None})
            cursor = page.next_cursor
            if not page.has_more:
                return out


@contextmanager
def stack(emulator: Any, tmp_path: Path, *, region: str = "DE") -> Iterator[Stack]:
    """A Stack on a fresh reference CRM (users only) and the reset emulator."""
    db = tmp_path / "crm.sqlite"
    seed(db, contacts=0, users=2, tricky=None)
    server = CrmServer(db, api_key="k").start()
    try:
        user = server.store.user_by_email("user1@crm.example")
        assert user is not None
        wide = Window(back_days=3650, ahead_days=3650)
        settings = SyncSettings(
            contact_options=ContactOptions(default_region=region),
            event_options=EventOptions(google_window=wide, crm_window=wide),
        )
        yield Stack(emulator, server, user.id, settings)
    finally:
        server.stop()
