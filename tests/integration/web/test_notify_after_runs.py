"""The worker tells the CRM when a real run stops (issue 15): connect through the real flow, sync 30
contacts to the Google emulator, delete 15 in the CRM; the run that stops before deleting them sends
one safety-stop notification with a settings link that opens the settings page; later runs that stay
stopped send none; "Delete them" clears it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from crmsync.model.kinds import Kind
from crmsync.services.scopes import connection_id_for
from crmsync.services.worker import SyncTask, handle_task, worker_deps
from infra.google_emulator.server import EmulatorServer
from tests.integration.web.browserless import browser_session, connect, csrf_of
from tests.integration.web.stack import CRM_KEY, Stack, running_stack

pytestmark = pytest.mark.integration


@pytest.fixture
def web(emulator: EmulatorServer, tmp_path: Path) -> Iterator[Stack]:
    with running_stack(emulator.base_url, tmp_path) as s:
        yield s


def sync(web: Stack, n: int) -> None:
    result = handle_task(SyncTask(connection_id_for("u1"), "sync_now", task=f"t{n}"), worker_deps(web.app))
    assert result.outcome.value == "synced", result.detail


def test_a_run_that_stops_tells_the_crm_once_with_a_working_settings_link(web: Stack) -> None:
    _http, page = connect(web)
    assert page.status_code == 200
    # Every Google contact, not only a group (through the CRM's settings API).
    crm = {"Authorization": f"Bearer {CRM_KEY}", "X-CRM-User": "u1", "Accept": "application/json"}
    current = requests.get(web.base_url + "/settings", headers=crm, timeout=10).json()["settings"]
    current["contacts"]["google_group"] = None
    assert requests.put(web.base_url + "/settings", json=current, headers=crm, timeout=10).status_code == 200
    ids = [
        web.crm.create("contacts", {"given_name": f"P{i}", "family_name": "M", "owner_id": "u1"}, f"k{i}").id
        for i in range(30)
    ]
    sync(web, 1)
    assert web.crm.notifications == {}  # a healthy run: nothing to tell
    for rid in ids[10:25]:
        web.crm.delete(Kind.CONTACTS, rid, web.crm.get(Kind.CONTACTS, rid).version)
    sync(web, 2)
    [notification] = web.crm.notifications.values()
    assert (notification.user_id, notification.reason.value, notification.kind) == ("u1", "safety_stop", "contacts")
    # The link in it opens the settings page in a fresh browser, without Google consent.
    fresh = browser_session()
    opened = fresh.get(str(notification.settings_link), timeout=10)
    assert opened.status_code == 200 and 'id="health-contacts-state"' in opened.text
    # Runs that find it still stopped say nothing more.
    sync(web, 3)
    sync(web, 4)
    assert len(web.crm.notifications) == 1
    # "Delete them": the next run applies it and the reason clears.
    approved = fresh.post(
        web.base_url + "/stops/contacts/delete", data={"csrf": csrf_of(opened.text)}, allow_redirects=False, timeout=10
    )
    assert approved.status_code == 303
    sync(web, 5)
    assert web.store.get_connection(connection_id_for("u1")).notices == {}  # type: ignore[union-attr]
