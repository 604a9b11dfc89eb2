"""Sync health on the settings page, in Chromium with JavaScript off, built by real runs: the worker
syncs the connection (fake CRM, Google emulator), then the page shows each state — in sync with the
history in words, a record left out (an invalid e-mail made in Google), a conflict with both values,
a safety stop listing the records it held back by name — in English and German, at 360 px without
sideways scrolling. A screenshot of every state goes to artifacts/ (gitignored: CI keeps them)."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from crmsync.model.kinds import Kind
from crmsync.services.scopes import connection_id_for
from crmsync.services.worker import SyncTask, handle_task, worker_deps
from infra.google_emulator.calendar_store import CalendarStore
from infra.google_emulator.server import EmulatorServer
from tests.integration.web.stack import Stack, running_stack

pytestmark = pytest.mark.e2e
CHROMIUM = os.environ.get("CRMSYNC_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
ACCOUNT = "ana@example.com"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: run scripts/ensure_chromium.sh (apt-get install -y chromium) as root")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def web(emulator: EmulatorServer, tmp_path: Path) -> Iterator[Stack]:
    with running_stack(emulator.base_url, tmp_path) as s:
        yield s


def shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"health-{name}.png"), full_page=True)


def sync(web: Stack, n: int) -> None:
    result = handle_task(SyncTask(connection_id_for("u1"), "sync_now", task=f"t{n}"), worker_deps(web.app))
    assert result.outcome.value in ("synced", "failed"), result.detail


def google_token(base: str) -> dict[str, str]:
    token = requests.post(
        base + "/__emulator/tokens",
        json={"email": ACCOUNT, "scopes": ["https://www.googleapis.com/auth/contacts"]},
        timeout=10,
    ).json()["access_token"]
    return {"Authorization": f"Bearer {token}"}


def connect(page: Any, web: Stack) -> None:
    page.goto(web.link("u1"))
    page.click("#confirm-continue")
    page.wait_for_selector("#allow")
    page.fill("#email", ACCOUNT)
    page.click("#allow")
    page.wait_for_load_state()
    assert page.url.startswith(web.base_url + "/settings")


def test_every_health_state_in_a_browser_without_javascript(browser: Any, web: Stack, emulator: EmulatorServer) -> None:
    context = browser.new_context(java_script_enabled=False, locale="en-GB")
    page = context.new_page()
    connect(page, web)
    assert page.inner_text("#health-contacts-state") == "Waiting for the first sync"
    shot(page, "waiting")
    page.click("#advanced-contacts summary")
    page.fill("#contacts-google_group", "")  # every Google contact, not only a group
    page.click("#save")
    page.wait_for_selector("#notice-saved")

    # The user's Google Calendar is in Berlin time: the page shows times there.
    calendars = emulator.state.account(ACCOUNT).store("calendar", CalendarStore)
    calendars.ensure_primary(ACCOUNT, emulator.state).time_zone = "Europe/Berlin"
    ids = [
        web.crm.create("contacts", {"given_name": f"Person{i}", "family_name": "Muster", "owner_id": "u1"}, f"k{i}").id
        for i in range(30)
    ]
    sync(web, 1)
    page.goto(web.base_url + "/settings")
    assert page.inner_text("#health-contacts-state") == "In sync"
    assert "30 records in sync" in page.inner_text("#health-contacts-counts")
    assert "Last successful sync:" in page.inner_text("#health-contacts")
    assert page.inner_text("#health-contacts-last").endswith("(Europe/Berlin)")
    page.click("#history summary")
    assert "30 contacts created in Google" in page.inner_text("#runs")
    assert "Sync now" in page.inner_text("#runs")
    shot(page, "in-sync-history")
    # The user picks another zone for the page.
    page.select_option("#time_zone", "America/New_York")
    page.click("#save")
    page.wait_for_selector("#notice-saved")
    assert page.inner_text("#health-contacts-last").endswith("(America/New_York)")
    page.select_option("#time_zone", "")  # back to the calendar's
    page.click("#save")
    page.wait_for_selector("#notice-saved")
    assert page.inner_text("#health-contacts-last").endswith("(Europe/Berlin)")

    # A record left out: a Google contact whose e-mail is not an address.
    base, auth = emulator.base_url, google_token(emulator.base_url)
    requests.post(
        base + "/v1/people:createContact",
        json={"names": [{"givenName": "Broken", "familyName": "Mail"}], "emailAddresses": [{"value": "not-an-email"}]},
        headers=auth,
        timeout=10,
    ).raise_for_status()
    # A conflict: the same field changed on both sides.
    dump = requests.get(base + "/__emulator/dump", params={"account": ACCOUNT}, timeout=10).json()
    person = next(p for p in dump["people"]["connections"] if p["names"][0]["givenName"] == "Person0")
    record = web.crm.get(Kind.CONTACTS, ids[0])
    web.crm.update(Kind.CONTACTS, ids[0], {"title": "Chief in the CRM"}, record.version)
    requests.patch(
        f"{base}/v1/{person['resourceName']}:updateContact",
        params={"updatePersonFields": "organizations"},
        json={"etag": person["etag"], "organizations": [{"title": "Chief in Google"}]},
        headers=auth,
        timeout=10,
    ).raise_for_status()
    sync(web, 2)
    page.goto(web.base_url + "/settings")
    excluded = page.inner_text("#excluded-contacts")
    assert "Google" in excluded and "not-an-email" in excluded and "is not a valid e-mail address" in excluded
    assert "1 excluded" in page.inner_text("#health-contacts-counts")
    conflicts = page.inner_text("#conflicts")
    assert "Chief in the CRM" in conflicts and "Chief in Google" in conflicts and "title" in conflicts
    assert "Person0 Muster" in conflicts  # the record by name, not id
    shot(page, "excluded-and-conflict")

    # A safety stop: 15 of 30 contacts deleted in the CRM at once.
    for rid in ids[10:25]:
        web.crm.delete(Kind.CONTACTS, rid, web.crm.get(Kind.CONTACTS, rid).version)
    sync(web, 3)
    page.goto(web.base_url + "/settings")
    assert page.inner_text("#health-contacts-state") == "Stopped"
    assert "stopped before deleting 15" in page.inner_text("#health-contacts-why")
    names = page.inner_text("#stop-contacts-records")
    assert "Person10 Muster" in names and "Person24 Muster" in names and ids[10] not in names
    assert page.get_attribute("#health-contacts-review", "href") == "#stop-contacts"
    status = context.request.get(web.base_url + "/status", headers={"Accept": "application/json"}).json()
    assert status["ok"] is False and status["needs_you"] == ["contacts"]
    assert status["health"]["contacts"]["state"] == "stopped"
    assert len(status["health"]["contacts"]["would_delete"]) == 15
    shot(page, "stopped")

    # At 360 px nothing scrolls sideways.
    page.set_viewport_size({"width": 360, "height": 800})
    page.goto(web.base_url + "/settings")
    wide = page.evaluate(
        """() => [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > 360)
                 .map(e => e.tagName + '#' + e.id + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right))"""
    )
    assert page.evaluate("document.documentElement.scrollWidth") <= 360, wide[:15]
    shot(page, "stopped-360px")

    # German, chosen by the browser: the same facts in the user's language and time format.
    context.close()
    context = browser.new_context(java_script_enabled=False, locale="de-DE")
    page = context.new_page()
    page.goto(web.settings_link("u1"))  # the CRM's settings link, opened in a German browser
    page.wait_for_selector("#health")
    assert page.get_attribute("html", "lang") == "de"
    assert page.inner_text("h1") == "Einstellungen der Google-Synchronisierung"
    assert page.inner_text("#health-contacts-state") == "Angehalten"
    assert page.inner_text("#health-events-state") == "Synchron"
    page.click("#history summary")
    runs = page.inner_text("#runs")
    assert "30 Kontakte in Google erstellt" in runs and "Jetzt synchronisieren" in runs
    assert re.match(r"\d\d\.\d\d\.\d{4}, \d\d:\d\d:\d\d \(", page.inner_text("#health-events-last"))  # German dates
    shot(page, "stopped-de")

    # Disconnect asks first (a disclosure, no JavaScript needed).
    assert not page.is_visible("#disconnect")
    page.click("#disconnect-start")
    assert page.is_visible("#disconnect") and page.inner_text("#disconnect") == "Ja, trennen"
    shot(page, "disconnect-confirm-de")

    # "Delete them": approved on the page, applied by the next run, recorded in the history.
    page.goto(web.base_url + "/settings")
    page.click("#stop-contacts-delete")
    page.wait_for_selector("#notice-approved")
    assert page.is_visible("#stop-contacts-approved")
    shot(page, "stop-approved-de")
    sync(web, 4)
    page.goto(web.base_url + "/settings")
    assert page.inner_text("#health-contacts-state") == "Synchron"
    assert page.locator("#stop-contacts").count() == 0
    page.click("#history summary")
    assert "15 Kontakte in Google gelöscht" in page.inner_text("#runs")
    shot(page, "after-delete-de")
    context.close()
