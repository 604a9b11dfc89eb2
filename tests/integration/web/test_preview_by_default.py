"""Preview before the first sync is what a new user gets without any admin rule (issue 15): a user
connects through the real flow, and with the default admin config the worker's first run of each kind
writes nothing on either side; the status says ``preview`` with the ``start`` action and lists what
would be written. "Start syncing <kind>" (the JSON API, the user's session and CSRF token) lets the
next run sync that kind, and only that kind.

Before: the admin rule was off by default, so the first run wrote at once."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from crmsync.model.kinds import Kind
from crmsync.services.scopes import connection_id_for
from crmsync.services.worker import SyncTask, handle_task, worker_deps
from infra.google_emulator.server import EmulatorServer
from tests.integration.web.browserless import connect, csrf_of
from tests.integration.web.stack import ADMIN_KEY, CRM_KEY, Stack, running_stack

pytestmark = pytest.mark.integration
ACCOUNT = "ana@example.com"


@pytest.fixture
def web(emulator: EmulatorServer, tmp_path: Path) -> Iterator[Stack]:
    with running_stack(emulator.base_url, tmp_path, admin_defaults=True) as s:  # no admin rules stored
        yield s


def run(web: Stack, n: int) -> None:
    result = handle_task(SyncTask(connection_id_for("u1"), "sync_now", task=f"t{n}"), worker_deps(web.app))
    assert result.outcome.value == "synced", result.detail


def google_people(web: Stack) -> list[str]:
    dump = requests.get(web.app.config.google_api_base + "/__emulator/dump", params={"account": ACCOUNT}, timeout=10)
    return sorted(p["names"][0]["givenName"] for p in dump.json()["people"]["connections"])


def google_tasks(web: Stack) -> int:
    dump = requests.get(web.app.config.google_api_base + "/__emulator/dump", params={"account": ACCOUNT}, timeout=10)
    return sum(len(items) for items in dump.json()["tasks"]["tasklists"].values())


def status(http: requests.Session, web: Stack) -> dict[str, Any]:
    resp = http.get(web.base_url + "/status", headers={"Accept": "application/json"}, timeout=10)
    assert resp.status_code == 200, resp.text
    return dict(resp.json())


def test_a_new_user_gets_a_preview_of_each_kind_and_nothing_is_written_until_they_start_it(web: Stack) -> None:
    http, page = connect(web, email=ACCOUNT)
    assert page.status_code == 200
    crm = web.crm
    # Every Google contact, not only a group (the CRM's settings API on behalf of the user).
    api = {"Authorization": f"Bearer {CRM_KEY}", "X-CRM-User": "u1", "Accept": "application/json"}
    settings = requests.get(web.base_url + "/settings", headers=api, timeout=10).json()["settings"]
    settings["contacts"]["google_group"] = None
    assert requests.put(web.base_url + "/settings", json=settings, headers=api, timeout=10).status_code == 200
    crm.create("contacts", {"given_name": "Anna", "owner_id": "u1"}, "k1")
    due = (datetime.now(UTC) + timedelta(days=3)).replace(microsecond=0).isoformat()
    crm.create("tasks", {"title": "Call Anna", "due": due, "owner_id": "u1"}, "k2")
    # A contact only Google has: a sync would bring it to the CRM.
    token = web.vault.get(connection_id_for("u1"))
    access = requests.post(
        web.app.config.google_api_base + "/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": token,
            "client_id": web.app.config.oauth_client_id,
            "client_secret": web.app.config.oauth_client_secret,
        },
        timeout=10,
    ).json()["access_token"]
    requests.post(
        web.app.config.google_api_base + "/v1/people:createContact",
        json={"names": [{"givenName": "Gus"}]},
        headers={"Authorization": f"Bearer {access}"},
        timeout=10,
    ).raise_for_status()
    csrf = csrf_of(page.text)
    current = status(http, web)
    kinds = sorted(current["health"])
    assert kinds, current

    run(web, 1)
    run(web, 2)  # still waiting: nobody pressed Start
    assert google_people(web) == ["Gus"] and google_tasks(web) == 0  # nothing written in Google
    assert len(crm.changes("contacts", None, on_behalf_of="u1").items) == 1  # nor in the CRM (Gus)
    assert not list(web.store.connection_store(connection_id_for("u1")).all_links(Kind.CONTACTS))
    waiting = status(http, web)
    for kind in kinds:
        health = waiting["health"][kind]
        assert (health["state"], health["action"]) == ("preview", "start"), (kind, health)
        assert health["preview"] is not None
    assert waiting["health"]["contacts"]["preview"]["writes"].get("google.create") == 1  # Anna, when started

    # "Start syncing contacts" as the user (session cookie + CSRF header), through the JSON API.
    refused = http.post(web.base_url + "/preview/contacts/start", headers={"Accept": "application/json"}, timeout=10)
    assert refused.status_code == 403  # no CSRF token: refused
    started = http.post(
        web.base_url + "/preview/contacts/start",
        headers={"Accept": "application/json", "X-CSRF-Token": csrf},
        timeout=10,
    )
    assert started.status_code == 202, started.text
    run(web, 3)
    assert "Anna" in google_people(web)
    assert len(crm.changes("contacts", None, on_behalf_of="u1").items) == 2  # Gus came to the CRM
    assert google_tasks(web) == 0  # tasks still wait for their own Start
    after = status(http, web)["health"]
    assert after["contacts"]["state"] != "preview" and after["tasks"]["state"] == "preview"


def test_the_admin_turns_the_preview_off_through_the_admin_api_and_first_runs_write(web: Stack) -> None:
    admin = {"Authorization": f"Bearer {ADMIN_KEY}", "Accept": "application/json"}
    rules = requests.get(web.base_url + "/admin/config", headers=admin, timeout=10).json()
    assert rules["preview_first_sync"] is True  # the default
    rules["preview_first_sync"] = False
    assert requests.put(web.base_url + "/admin/config", json=rules, headers=admin, timeout=10).status_code == 200
    http, page = connect(web, email=ACCOUNT)
    assert page.status_code == 200
    web.crm.create("contacts", {"given_name": "Anna", "owner_id": "u1"}, "k1")
    run(web, 1)
    assert "Anna" in google_people(web)
    assert all(h["state"] != "preview" for h in status(http, web)["health"].values())
