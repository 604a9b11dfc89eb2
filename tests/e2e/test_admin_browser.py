"""The admin page in Chromium with JavaScript off: sign in with the admin key (a wrong key first), the
connections with their health, filtered by state, pause / resume / "Sync now", German, 360 px, sign out.
One connection is made through the real connect flow and synced by the worker (Google emulator, fake
CRM); the others are put in the states an admin filters by through their run log, as runs record them.
Screenshots go to artifacts/admin-*.png."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from crmsync.model.kinds import Kind
from crmsync.model.state import ConnectionStatus
from crmsync.services.scopes import connection_id_for
from infra.google_emulator.server import EmulatorServer
from tests.e2e.test_health_browser import ARTIFACTS, browser, connect, sync  # noqa: F401  (the browser fixture)
from tests.integration.web.stack import ADMIN_KEY, Stack, running_stack
from tests.unit.services.appfakes import seed_connection

pytestmark = pytest.mark.e2e


@pytest.fixture
def web(emulator: EmulatorServer, tmp_path: Path) -> Iterator[Stack]:
    with running_stack(emulator.base_url, tmp_path) as s:
        yield s


def shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"admin-{name}.png"), full_page=True)


def report(**fields: Any) -> dict[str, Any]:
    return {"writes": {}, "notes": [], "errors": [], "conflicts": [], "complete": True, **fields}


def others(web: Stack) -> None:
    """Connections in the other states, with their run log as a run writes it."""
    app = web.app
    for user, kinds in {
        "stopper": {"contacts": report(stopped="stopped before deleting 15 contacts", complete=False)},
        "reauth": {},
        "paused": {},
        "failer": {"tasks": report(errors=["update in crm of t9: CRM 422: title too long"])},
    }.items():
        seed_connection(app, user)
        reports = {k.value: {"kind": k.value, **kinds.get(k.value, report())} for k in Kind}
        now = app.clock()
        run = {"run_id": "r1", "started_at": now, "finished_at": now, "reason": "tick", "kinds": reports}
        app.store.append_run(connection_id_for(user), "r1", run, now + timedelta(days=30))
    app.store.update_connection(connection_id_for("reauth"), {"status": ConnectionStatus.NEEDS_REAUTH})
    app.store.update_connection(connection_id_for("paused"), {"status": ConnectionStatus.PAUSED})


def states(page: Any) -> dict[str, str]:
    cells = page.query_selector_all("#connections tbody tr")
    return {c.get_attribute("id")[5:]: c.query_selector(".state").inner_text() for c in cells}


def test_the_admin_page_in_a_browser_without_javascript(browser: Any, web: Stack) -> None:  # noqa: F811
    context = browser.new_context(java_script_enabled=False, locale="en-GB")
    page = context.new_page()
    connect(page, web)
    web.crm.create("contacts", {"given_name": "Ada", "family_name": "Lovelace", "owner_id": "u1"}, "k1")
    sync(web, 1)
    others(web)
    admin = browser.new_context(java_script_enabled=False, locale="en-GB")
    page = admin.new_page()

    page.goto(web.base_url + "/admin")
    assert page.url == web.base_url + "/admin/login"
    page.fill("#key", "not-the-admin-key")
    page.click("#sign-in")
    assert page.inner_text("#login-error") == "That is not the admin key."
    assert "key=" not in page.url
    shot(page, "wrong-key")
    page.fill("#key", ADMIN_KEY)
    page.click("#sign-in")
    page.wait_for_selector("#notice-signed-in")
    assert ADMIN_KEY not in page.url
    assert states(page) == {
        "failer": "Records failing",
        "paused": "Paused",
        "reauth": "Needs reconnecting",
        "stopper": "Stopped",
        "u1": "In sync",
    }
    assert "1 record in sync" in page.inner_text("#conn-u1-kinds")
    shot(page, "connections")

    page.click("#filter-stopped")
    assert list(states(page)) == ["stopper"]
    assert "stopped before deleting 15 contacts" in page.inner_text("#conn-stopper-kinds")
    shot(page, "filter-stopped")

    page.click("#filter-in_sync")
    page.click("#pause-u1")
    page.wait_for_selector("#notice-paused")
    assert "No connection in this state" in page.inner_text("#no-connections")  # back on the same filter
    assert web.store.get_connection(connection_id_for("u1")).status is ConnectionStatus.PAUSED  # type: ignore[union-attr]
    page.click("#filter-paused")
    assert set(states(page)) == {"u1", "paused"}
    page.click("#resume-u1")
    page.wait_for_selector("#notice-resumed")
    page.goto(web.base_url + "/admin")
    before = len(web.queue.tasks)
    page.click("#sync-u1")
    page.wait_for_selector("#notice-sync")
    assert [t.connection_id for t in web.queue.tasks[before:]] == [connection_id_for("u1")]
    shot(page, "sync-requested")

    page.set_viewport_size({"width": 360, "height": 800})
    page.goto(web.base_url + "/admin")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    shot(page, "connections-360px")

    german = browser.new_context(java_script_enabled=False, locale="de-DE")
    page_de = german.new_page()
    page_de.goto(web.base_url + "/admin/login")
    page_de.fill("#key", ADMIN_KEY)
    page_de.click("#sign-in")
    page_de.wait_for_selector("#notice-signed-in")
    assert page_de.get_attribute("html", "lang") == "de"
    assert page_de.inner_text("h1") == "Verbindungen"
    assert states(page_de)["stopper"] == "Angehalten" and states(page_de)["u1"] == "Synchron"
    shot(page_de, "connections-de")

    page.click("#admin-logout")
    assert page.url == web.base_url + "/admin/login"
    page.goto(web.base_url + "/admin")
    assert page.url == web.base_url + "/admin/login"
    for ctx in (context, admin, german):
        ctx.close()
