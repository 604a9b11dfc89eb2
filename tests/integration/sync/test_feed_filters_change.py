"""Changing a kind's CRM tag or owner scope restarts that kind from a full listing reconciled
against its links: no error loop, no duplicates, no deletes (issue 11 §4).

Before: the stored CRM cursor was bound to the old filters, the reference CRM refused it
(400 at /cursor) and every run of the connection failed ("unexpected error", a 500 loop).
Through the reference CRM over HTTP and the Google emulator, with the whole run service."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests

from crmsync.crm.rest import RestCrmConnector
from crmsync.google.client import Endpoint
from crmsync.model.cursor import CrmFeed
from crmsync.model.kinds import Kind
from crmsync.model.settings import KindSettings, OwnerScope, SyncSettings
from crmsync.model.state import Connection
from crmsync.services.run_sync import GRANT_SCOPES, GoogleAccess, RunDeps, sync_connection
from crmsync.store.memory import MemoryStore
from infra.crm.server import CrmServer

pytestmark = pytest.mark.integration
ACCOUNT = "anna@corp.example"
API_KEY = "filters-test-key"


class World:
    def __init__(self, emulator: Any, crm: RestCrmConnector) -> None:
        self.base = emulator.base_url
        grant = requests.post(
            self.base + "/__emulator/grants",
            json={"email": ACCOUNT, "client_id": "cid", "scopes": list(GRANT_SCOPES.values())},
            timeout=10,
        ).json()
        self.token = grant["refresh_token"]
        self.crm = crm
        self.store = MemoryStore()
        self.conn = Connection(
            id="conn-filters",
            crm_user_id="u1",
            google_subject="1",
            google_email=ACCOUNT,
            scopes=list(GRANT_SCOPES.values()),
            settings=SyncSettings(tasks=KindSettings(google_group=None)),
            created_at=datetime.now(UTC),
        )
        self.deps = RunDeps(self.store, crm, GoogleAccess(Endpoint(self.base), "cid", "s"), lambda: datetime.now(UTC))

    def tasks_settings(self, **update: Any) -> None:
        tasks = self.conn.settings.tasks.model_copy(update=update)
        self.conn = self.conn.model_copy(update={"settings": self.conn.settings.model_copy(update={"tasks": tasks})})

    def sync(self) -> dict[str, Any]:
        return sync_connection(self.conn, self.token, self.deps, kinds=[Kind.TASKS]).as_dict()["kinds"]["tasks"]

    def google_titles(self) -> list[str]:
        tok = requests.post(
            self.base + "/token",
            data={"grant_type": "refresh_token", "refresh_token": self.token, "client_id": "cid", "client_secret": "s"},
            timeout=10,
        ).json()["access_token"]
        auth = {"Authorization": f"Bearer {tok}"}
        lists = requests.get(self.base + "/tasks/v1/users/@me/lists", headers=auth, timeout=10).json()["items"]
        out = []
        for lst in lists:
            got = requests.get(f"{self.base}/tasks/v1/lists/{lst['id']}/tasks", headers=auth, timeout=10).json()
            out += [t["title"] for t in got.get("items", [])]
        return sorted(out)

    def crm_titles(self) -> list[str]:
        page = self.crm.changes("tasks", None)  # as the integration: every record
        return sorted(c.record.title for c in page.items if c.record is not None)  # type: ignore[union-attr]


@pytest.fixture
def world(emulator: Any, tmp_path: Path) -> Iterator[World]:
    server = CrmServer(tmp_path / "crm.sqlite", api_key=API_KEY).start()
    conn = RestCrmConnector(server.base_url, API_KEY, sleep=lambda _s: None, max_attempts=2)
    server.store.add_user(ACCOUNT, "Anna", user_id="u1")
    server.store.add_user("bob@corp.example", "Bob", user_id="u2")
    yield World(emulator, conn)
    conn.close()
    server.stop()


def settle(w: World) -> dict[str, Any]:
    reports = [w.sync() for _ in range(3)]
    assert all(r["complete"] and not r["errors"] for r in reports), reports
    assert reports[-1]["writes"] == {}, reports
    return reports[0]


def test_changing_the_crm_tag_restarts_the_kind_without_duplicates_or_deletes(world: World) -> None:
    w = world
    w.crm.create("tasks", {"owner_id": "u1", "title": "Call back", "tags": ["vip"]}, "k1")
    w.crm.create("tasks", {"owner_id": "u1", "title": "Send offer"}, "k2")
    settle(w)
    assert w.google_titles() == ["Call back", "Send offer"]

    w.tasks_settings(crm_tag="vip")  # before: 400 "cursor ... other filters", every run
    first = settle(w)
    assert first["full"] is True
    assert w.google_titles() == ["Call back", "Send offer"]  # the task now out of scope is not deleted
    assert w.crm_titles() == ["Call back", "Send offer"]
    w.crm.create("tasks", {"owner_id": "u1", "title": "VIP lunch", "tags": ["vip"]}, "k3")
    w.crm.create("tasks", {"owner_id": "u1", "title": "Not synced"}, "k4")
    settle(w)
    assert w.google_titles() == ["Call back", "Send offer", "VIP lunch"]

    w.tasks_settings(crm_tag=None)  # and back: everything in scope again, matched, not copied twice
    settle(w)
    assert w.google_titles() == ["Call back", "Not synced", "Send offer", "VIP lunch"]
    assert w.crm_titles() == ["Call back", "Not synced", "Send offer", "VIP lunch"]


def test_changing_the_owner_scope_restarts_the_kind(world: World) -> None:
    w = world
    w.crm.create("tasks", {"owner_id": "u1", "title": "Mine"}, "k1")
    w.crm.create("tasks", {"owner_id": "u2", "title": "Bob's"}, "k2")
    settle(w)
    w.tasks_settings(owner_scope=OwnerScope.VISIBLE)
    settle(w)
    w.tasks_settings(owner_scope=OwnerScope.OWNED)
    settle(w)
    assert w.crm_titles() == ["Bob's", "Mine"]
    titles = w.google_titles()
    assert len(titles) == len(set(titles))  # no duplicates whatever the visibility rules let through


def test_a_cursor_the_crm_refuses_restarts_the_kind_from_a_full_listing(world: World) -> None:
    """Defence in depth: a cursor stored before filters were kept with it (or a CRM restored from
    a backup) is refused with 400 at /cursor; the kind lists in full instead of failing every run."""
    w = world
    w.crm.create("tasks", {"owner_id": "u1", "title": "Call back"}, "k1")
    settle(w)
    links = w.store.connection_store(w.conn.id)
    cursor = links.cursor(Kind.TASKS)
    cursor.crm_cursor = "eyJ2IjoxLCJzZXEiOjEsImYiOiIwMDAwMDAwMDAwMDAifQ"  # another feed's cursor
    cursor.crm_feed = CrmFeed()  # stored before the filters were kept with it
    links.save_cursor(cursor)
    report = w.sync()
    assert report["full"] is True and not report["errors"]
    assert report["writes"] == {}
    assert w.google_titles() == ["Call back"]
