"""An App wired entirely to fakes (memory store, fake CRM, in-memory vault and queue, fake Google transport)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import requests
from requests.adapters import BaseAdapter

from crmsync.bootstrap import App, bootstrap
from crmsync.config import Config
from crmsync.crm.fake import FakeCrm
from crmsync.model.kinds import Kind
from crmsync.model.state import Connection
from crmsync.queue.memory import MemoryTaskQueue
from crmsync.services.scopes import KIND_SCOPES, connection_id_for, scopes_for
from crmsync.store.memory import MemoryStore
from crmsync.vault.data_keys import InMemoryDataKeys
from crmsync.vault.envelope import EnvelopeVault, InMemoryCiphertextStore

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
LINK_KEY = b"unit-link-key-" + b"x" * 40
SESSION_KEY = b"unit-session-key-" + b"s" * 40
ADMIN_KEY = "unit-admin-key-" + "y" * 30
CRM_KEY = "unit-crm-key-" + "z" * 30


class FakeGoogleTransport(BaseAdapter):
    """Answers Google's revoke endpoint like Google does; ``status`` simulates outages."""

    def __init__(self) -> None:
        super().__init__()
        self.revoked: list[str] = []
        self.status = 200

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        resp = requests.Response()
        resp.request, resp.url = request, str(request.url)
        if self.status >= 500:
            resp.status_code, resp._content = self.status, b'{"error": "backend"}'
            return resp
        body = request.body.decode() if isinstance(request.body, bytes) else str(request.body or "")
        self.revoked.append(body.removeprefix("token="))
        resp.status_code, resp._content = 200, b"{}"
        return resp

    def close(self) -> None:
        """Nothing to close."""


class Clock:
    """A settable clock."""

    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def config() -> Config:
    """A valid local configuration."""
    return Config(
        base_url="http://localhost:8080",
        oauth_client_id="cid.apps.googleusercontent.com",
        oauth_client_secret="unit-client-secret",
        link_signing_key=LINK_KEY,
        session_signing_key=SESSION_KEY,
        admin_api_key=ADMIN_KEY,
        crm_base_url="http://localhost:9",
        crm_api_key=CRM_KEY,
        google_auth_uri="https://accounts.example/o/oauth2/auth",
        google_token_uri="https://accounts.example/token",
        google_revoke_uri="https://accounts.example/revoke",
        store="memory",
        vault="local_file",
        local_vault_path="/nonexistent/unused",
    )


def make_app() -> tuple[App, FakeGoogleTransport, Clock]:
    """An App on fakes; the CRM knows u1 (user), u2 (user) and boss (admin)."""
    crm = FakeCrm()
    crm.add_user("u1@crm.example", "U One", user_id="u1")
    crm.add_user("u2@crm.example", "U Two", user_id="u2")
    crm.add_user("boss@crm.example", "Boss", role="admin", user_id="boss")
    transport = FakeGoogleTransport()
    http = requests.Session()
    http.mount("https://", transport)
    clock = Clock()
    store = MemoryStore()
    vault = EnvelopeVault(InMemoryCiphertextStore(), InMemoryDataKeys())
    app = bootstrap(config(), store=store, vault=vault, crm=crm, queue=MemoryTaskQueue(), clock=clock, http=http)
    return app, transport, clock


def seed_connection(
    app: App, crm_user_id: str = "u1", kinds: tuple[Kind, ...] = tuple(Kind), **fields: Any
) -> Connection:
    """Store an active connection (and its token) as the OAuth callback would."""
    cid = connection_id_for(crm_user_id)
    connection = Connection(
        id=cid,
        crm_user_id=crm_user_id,
        google_subject="sub-" + crm_user_id,
        google_email=f"{crm_user_id}@gmail.example",
        scopes=scopes_for(kinds),
        created_at=app.clock(),
        next_sync_at=app.clock(),
        **fields,
    )
    app.store.put_connection(connection)
    app.vault.put(cid, "1//refresh-" + crm_user_id + "-abcdefgh")
    return connection


__all__ = ["KIND_SCOPES", "NOW", "Clock", "FakeGoogleTransport", "config", "make_app", "seed_connection"]
