"""In Chromium (JavaScript off, as the pages need none): the confirmation page before Google's consent,
"This is not me", a forwarded link refused after consent, a settings link, and signing out."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from crmsync.services.scopes import connection_id_for
from infra.google_emulator.oauth import oauth_store
from infra.google_emulator.server import EmulatorServer
from tests.e2e.test_connect_browser import ARTIFACTS, browser, consent  # noqa: F401  (the module's browser fixture)
from tests.integration.web.stack import Stack, running_stack

pytestmark = pytest.mark.e2e


@pytest.fixture
def web(emulator: EmulatorServer, tmp_path: Path) -> Iterator[Stack]:
    with running_stack(emulator.base_url, tmp_path) as s:
        yield s


def _shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)


def test_the_confirmation_page_names_the_user_and_offers_a_way_out(browser: Any, web: Stack) -> None:  # noqa: F811
    page = browser.new_context(java_script_enabled=False).new_page()
    page.goto(web.link("u1"))
    assert page.inner_text("#confirm-name") == "Ana"
    assert page.inner_text("#confirm-email") == "ana@example.com"
    assert "ana@example.com" in page.inner_text("#confirm-rule")
    _shot(page, "connect-confirm.png")
    scroll = page.evaluate("document.documentElement.scrollWidth")
    page.set_viewport_size({"width": 360, "height": 800})
    assert page.evaluate("document.documentElement.scrollWidth") <= 360, scroll
    page.click("#confirm-not-me")
    assert page.inner_text("#message-title") == "Nothing was connected"
    _shot(page, "connect-not-me.png")
    assert not [c for c in page.context.cookies() if "crmsync_session" in c["name"]]
    assert web.store.get_connection(connection_id_for("u1")) is None
    page.context.close()


def test_a_forwarded_link_is_refused_after_consent_and_says_why(
    browser: Any,  # noqa: F811
    web: Stack,
    emulator: EmulatorServer,
) -> None:
    page = browser.new_context(java_script_enabled=False).new_page()
    consent(page, web.link("u1"), "colleague@example.com")
    assert page.inner_text("#message-title") == "This Google account does not belong to this CRM user"
    text = page.inner_text("#message-text")
    assert "colleague@example.com" in text and "Ana (ana@example.com)" in text
    _shot(page, "connect-wrong-account.png")
    assert web.store.get_connection(connection_id_for("u1")) is None
    assert all(g.revoked for g in oauth_store(emulator.state).grants if g.email == "colleague@example.com")
    page.context.close()


def test_a_settings_link_opens_the_page_and_sign_out_ends_it(browser: Any, web: Stack) -> None:  # noqa: F811
    first = browser.new_context(java_script_enabled=False).new_page()
    consent(first, web.link("u1"), "ana@example.com")
    page = browser.new_context(java_script_enabled=False).new_page()
    page.goto(web.settings_link("u1"))
    assert page.url == web.base_url + "/settings"
    assert page.inner_text("#google-email") == "ana@example.com"
    cookie = next(c for c in page.context.cookies() if c["name"] == "crmsync_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    page.click("#logout")
    assert page.inner_text("#message-title") == "Signed out"
    page.goto(web.base_url + "/settings")
    assert page.inner_text("#message-title") == "Please sign in"
    first.reload()  # signing out ends the user's other sessions too
    assert first.inner_text("#message-title") == "Please sign in"
    for p in (first, page):
        p.context.close()
