"""End to end in a real browser: Debian's Chromium driven by Playwright through the connect flow.

Connect link -> the Google emulator's consent page -> Allow -> the settings page -> change settings
-> stored; Deny and a partial grant are shown clearly; one run without JavaScript; a screenshot of
the settings page is kept in artifacts/; every log line of a full run is checked for secrets.
"""

from __future__ import annotations

import io
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from crmsync.model.settings import ConflictPolicy
from crmsync.model.state import ConnectionStatus
from crmsync.obs.logging import JsonFormatter
from crmsync.services.scopes import connection_id_for
from crmsync.store.memory import MemoryStore
from infra.google_emulator.oauth import oauth_store
from infra.google_emulator.server import EmulatorServer
from tests.integration.web.stack import ADMIN_KEY, CLIENT_SECRET, CRM_KEY, LINK_KEY, Stack, running_stack

pytestmark = pytest.mark.e2e

CHROMIUM = os.environ.get("CRMSYNC_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
TASKS = "https://www.googleapis.com/auth/tasks"
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Chromium, launched once for this module; a missing browser fails (never skips) the tests."""
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: run scripts/ensure_chromium.sh (apt-get install -y chromium) as root")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()


class RecordingStore(MemoryStore):
    """The memory store, also remembering each OAuth state record (to learn the PKCE verifiers used)."""

    def __init__(self) -> None:
        super().__init__()
        self.states: list[tuple[str, dict[str, Any]]] = []

    def put_oauth_state(self, state_id: str, data: dict[str, Any], expires_at: Any) -> None:
        self.states.append((state_id, dict(data)))
        super().put_oauth_state(state_id, data, expires_at)


@pytest.fixture
def web(emulator: EmulatorServer, tmp_path: Path) -> Iterator[Stack]:
    with running_stack(emulator.base_url, tmp_path, store=RecordingStore()) as s:
        yield s


def consent(page: Any, link: str, email: str, *, uncheck: tuple[str, ...] = (), deny: bool = False) -> None:
    """Open the link, confirm it is ours, answer Google's (emulated) consent page and wait to be back on our site."""
    page.goto(link)
    page.click("#confirm-continue")
    page.wait_for_selector("#allow")
    page.fill("#email", email)
    for scope in uncheck:
        page.uncheck(f'input[name="scope"][value="{scope}"]')
    page.click("#deny" if deny else "#allow")
    page.wait_for_load_state()


def test_connect_allow_change_settings_and_keep_a_screenshot(browser: Any, web: Stack) -> None:
    context = browser.new_context()
    page = context.new_page()
    consent(page, web.link("u1"), "ana@example.com")
    assert page.url.startswith(web.base_url + "/settings")
    assert page.inner_text("#google-email") == "ana@example.com"
    assert "Connected" in page.inner_text("#status")
    assert page.is_visible("#notice-connected")
    unlabelled = page.evaluate(
        """() => [...document.querySelectorAll('input:not([type=hidden]), select')]
                 .filter(e => e.labels.length === 0).map(e => e.id || e.name)"""
    )
    assert unlabelled == []
    page.click("#advanced-contacts summary")  # the rules sit under a disclosure
    page.select_option("#contacts-conflict_policy", "google_wins")
    page.fill("#interval_minutes", "45")
    page.click("#save")
    page.wait_for_selector("#notice-saved")
    conn = web.store.get_connection(connection_id_for("u1"))
    assert conn is not None
    assert conn.settings.contacts.conflict_policy is ConflictPolicy.GOOGLE_WINS
    assert conn.settings.interval_minutes == 45
    assert page.input_value("#interval_minutes") == "45"
    cookie = next(c for c in context.cookies() if c["name"] == "crmsync_session")
    assert cookie["httpOnly"]
    assert cookie["sameSite"] == "Lax"
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "settings-page.png"), full_page=True)
    assert (ARTIFACTS / "settings-page.png").stat().st_size > 10_000
    # An invalid value is explained next to the field, keyboard-reachable, and not stored.
    page.fill("#interval_minutes", "0")
    page.focus("#interval_minutes")
    page.keyboard.press("Enter")
    page.wait_for_selector("#interval_minutes-error")
    assert "from 1 to 1440" in page.inner_text("#interval_minutes-error")
    assert page.get_attribute("#interval_minutes", "aria-invalid") == "true"
    assert web.store.get_connection(connection_id_for("u1")).settings.interval_minutes == 45  # type: ignore[union-attr]
    context.close()


def test_deny_says_nothing_was_connected(browser: Any, web: Stack) -> None:
    context = browser.new_context()
    page = context.new_page()
    consent(page, web.link("u1"), "ana@example.com", deny=True)
    assert page.inner_text("#message-text") == "You declined access, so nothing was connected."
    assert page.is_visible("#retry")
    assert web.store.get_connection(connection_id_for("u1")) is None
    # "Try again" starts a fresh consent from the same browser session.
    page.click("#retry")
    page.wait_for_selector("#allow")
    context.close()


def test_partial_grant_without_javascript_shows_tasks_off(browser: Any, web: Stack) -> None:
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    consent(page, web.link("u2"), "bo@example.com", uncheck=(TASKS,))
    assert page.url.startswith(web.base_url + "/settings")
    assert page.inner_text("#health-tasks-state") == "Needs reconnecting"
    assert "You did not allow Google access" in page.inner_text("#health-tasks-why")
    assert page.locator("#health-tasks-reconnect").count() == 1
    assert page.is_disabled("#tasks-enabled")
    assert page.is_visible("#reconnect")
    conn = web.store.get_connection(connection_id_for("u2"))
    assert conn is not None
    assert not conn.settings.tasks.enabled
    assert conn.settings.contacts.enabled
    # The form works without JavaScript too.
    page.select_option("#events-direction", "crm_to_google")
    page.click("#save")
    page.wait_for_selector("#notice-saved")
    assert web.store.get_connection(connection_id_for("u2")).settings.events.direction.value == "crm_to_google"  # type: ignore[union-attr]
    context.close()


def test_no_secret_in_any_log_line_of_a_full_browser_run(browser: Any, web: Stack, emulator: EmulatorServer) -> None:
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)  # the strictest case: library debug output included
    urls: list[str] = []
    try:
        context = browser.new_context()
        page = context.new_page()
        page.on("request", lambda req: urls.append(req.url))
        link = web.link("u1")
        consent(page, link, "ana@example.com")
        page.fill("#interval_minutes", "20")
        page.click("#save")
        page.wait_for_selector("#notice-saved")
        page.click("#sync-now")
        page.wait_for_selector("#notice-sync")
        cookies = [c["value"] for c in context.cookies()]
        csrf = page.get_attribute('input[name="csrf"]', "value")
        refresh = web.vault.get(connection_id_for("u1"))
        page.click("#disconnect-start")  # Disconnect asks first
        page.click("#disconnect")
        page.wait_for_selector("#notice-disconnected")
        context.close()
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
    logs = buffer.getvalue()
    assert '"function": "web"' in logs
    assert "GET /settings 200" in logs
    assert web.store.get_connection(connection_id_for("u1")).status is ConnectionStatus.DISCONNECTED  # type: ignore[union-attr]
    grants = oauth_store(emulator.state)
    secrets = {
        "link": link,
        "link token": link.split("t=", 1)[1],
        "refresh token": refresh,
        "csrf": csrf,
        "client secret": CLIENT_SECRET,
        "link key": LINK_KEY,
        "admin key": ADMIN_KEY,
        "crm key": CRM_KEY,
    }
    secrets.update({f"cookie {i}": v for i, v in enumerate(cookies)})
    secrets.update({f"code {i}": c for i, c in enumerate(grants.codes)})
    secrets.update({f"access token {i}": t for i, t in enumerate(grants.by_access)})
    for state_id, record in web.store.states:  # type: ignore[attr-defined]
        secrets[f"state {state_id[:4]}"] = state_id
        secrets[f"verifier {state_id[:4]}"] = record["code_verifier"]
    for url in urls:
        for key, values in parse_qs(urlsplit(url).query).items():
            if key in ("t", "code", "state"):  # code_challenge is public by design (a hash of the verifier)
                secrets.update({f"url {key} {i}": v for i, v in enumerate(values)})
    assert len(secrets) >= 12
    leaked = {name for name, value in secrets.items() if value and value in logs}
    assert not leaked, f"secrets in the logs: {sorted(leaked)}"


def test_calendar_options_are_set_on_the_page_and_bad_values_explained(browser: Any, web: Stack) -> None:
    page = browser.new_context().new_page()
    consent(page, web.link("u1"), "ana@example.com")
    name = "#event_options-calendar_name"
    assert not page.is_visible(name)  # only asked for with a dedicated calendar
    page.check("#event_options-calendar-dedicated")
    assert page.is_visible(name)
    page.fill(name, "Sales calls")
    page.fill("#event_options-crm_window-back_days", "14")
    page.fill("#event_options-google_window-ahead_days", "90")
    page.check("#event_options-private_activities-busy")
    page.click("#save")
    page.wait_for_selector("#notice-saved")
    page.reload()
    assert page.is_checked("#event_options-calendar-dedicated")
    assert page.input_value(name) == "Sales calls"
    assert page.input_value("#event_options-crm_window-back_days") == "14"
    assert page.input_value("#event_options-google_window-ahead_days") == "90"
    assert page.is_checked("#event_options-private_activities-busy")
    unlabelled = page.evaluate(
        "() => [...document.querySelectorAll('textarea, input[type=radio]')].filter(e => e.labels.length === 0).length"
    )
    assert unlabelled == 0
    page.fill("#event_options-google_window-ahead_days", "0")
    page.click("#save")
    page.wait_for_selector("#event_options-google_window-ahead_days-error")
    assert (
        page.inner_text("#event_options-google_window-ahead_days-error")
        == "Enter a whole number of days from 1 to 3650."
    )
    assert page.get_attribute("#event_options-google_window-ahead_days", "aria-invalid") == "true"
    assert page.input_value("#event_options-google_window-ahead_days") == "0"
    options = web.store.get_connection(connection_id_for("u1")).settings.event_options  # type: ignore[union-attr]
    assert (options.calendar, options.calendar_name, options.google_window.ahead_days) == (
        "dedicated",
        "Sales calls",
        90,
    )
    assert (options.crm_window.back_days, options.private_activities) == (14, "busy")
    page.context.close()
