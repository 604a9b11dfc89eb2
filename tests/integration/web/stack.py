"""The web function served over real HTTP with the Google emulator, a fake CRM, a memory store and a file vault."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from werkzeug.serving import BaseWSGIServer, make_server

from crmsync.bootstrap import App, bootstrap
from crmsync.config import Config
from crmsync.crm.fake import FakeCrm
from crmsync.queue.memory import MemoryTaskQueue
from crmsync.security.links import mint_connect_token, mint_settings_token
from crmsync.store.memory import MemoryStore
from crmsync.vault.local_file import LocalFileVault
from crmsync.web.app import WebApp
from tests.support.admin_rules import store_without_preview

LINK_KEY = "link-key-" + "k" * 40
SESSION_KEY = "session-key-" + "s" * 40
ADMIN_KEY = "admin-key-" + "a" * 40
CRM_KEY = "crm-api-key-" + "c" * 30
CLIENT_ID = "crmsync-test.apps.googleusercontent.com"
CLIENT_SECRET = "client-secret-for-tests-123"


@dataclass
class Stack:
    """A running web app and its parts."""

    app: App
    base_url: str
    store: MemoryStore
    crm: FakeCrm
    queue: MemoryTaskQueue
    vault: LocalFileVault

    def link(self, crm_user_id: str, ttl: timedelta = timedelta(minutes=15), now: datetime | None = None) -> str:
        """A signed connect link for the user."""
        token = mint_connect_token(LINK_KEY.encode(), crm_user_id, ttl, now or datetime.now(UTC))
        return f"{self.base_url}/connect?t={token}"

    def settings_link(self, crm_user_id: str, ttl: timedelta = timedelta(minutes=5)) -> str:
        """A signed settings link for the (connected) user."""
        token = mint_settings_token(LINK_KEY.encode(), crm_user_id, ttl, datetime.now(UTC))
        return f"{self.base_url}/settings?t={token}"


def make_config(base_url: str, google_base: str, vault_path: Path) -> Config:
    """Config pointing at the emulator, with a local file vault and the memory store."""
    return Config(
        base_url=base_url,
        oauth_client_id=CLIENT_ID,
        oauth_client_secret=CLIENT_SECRET,
        link_signing_key=LINK_KEY.encode(),
        session_signing_key=SESSION_KEY.encode(),
        admin_api_key=ADMIN_KEY,
        crm_base_url="http://127.0.0.1:9",
        crm_api_key=CRM_KEY,
        google_auth_uri=google_base + "/o/oauth2/auth",
        google_token_uri=google_base + "/token",
        google_revoke_uri=google_base + "/revoke",
        google_api_base=google_base,
        vault="local_file",
        local_vault_path=str(vault_path),
        store="memory",
    )


class _Holder:
    wsgi: WebApp | None = None

    def __call__(self, environ, start_response):  # type: ignore[no-untyped-def]
        assert self.wsgi is not None
        return self.wsgi(environ, start_response)


@contextmanager
def running_stack(
    google_base: str, tmp: Path, store: MemoryStore | None = None, *, admin_defaults: bool = False
) -> Iterator[Stack]:
    """Serve the web app on 127.0.0.1:<free port> in a thread for the duration of the block. Its admin
    rules are the defaults without the preview before a first sync (a first run syncs), or with
    ``admin_defaults`` the defaults as a new deployment has them (no rules stored)."""
    holder = _Holder()
    server: BaseWSGIServer = make_server("127.0.0.1", 0, holder, threaded=True)
    base_url = f"http://127.0.0.1:{server.server_port}"
    store, crm, queue = store or MemoryStore(), FakeCrm(), MemoryTaskQueue()
    if not admin_defaults:
        store_without_preview(store)
    crm.add_user("ana@example.com", "Ana", user_id="u1")
    crm.add_user("bo@example.com", "Bo", user_id="u2")
    vault = LocalFileVault(tmp / "vault.json")
    app = bootstrap(
        make_config(base_url, google_base, tmp / "vault.json"), store=store, vault=vault, crm=crm, queue=queue
    )
    holder.wsgi = WebApp(app)
    thread = threading.Thread(target=server.serve_forever, name="crmsync-web", daemon=True)
    thread.start()
    try:
        yield Stack(app, base_url, store, crm, queue, vault)
    finally:
        server.shutdown()
        server.server_close()
