"""The connect flow over real HTTP against the Google emulator (no browser)."""

from __future__ import annotations

import pytest
import requests

from crmsync.model.kinds import Kind
from crmsync.model.settings import ConflictPolicy
from crmsync.model.state import ConnectionStatus
from crmsync.services.scopes import connection_id_for
from tests.integration.web.browserless import TASKS, browser_session, confirm, connect, consent, csrf_of
from tests.integration.web.stack import Stack

pytestmark = pytest.mark.integration


def test_allow_creates_an_active_connection_with_the_token_in_the_vault(stack: Stack) -> None:
    http, page = connect(stack)
    assert page.status_code == 200, page.text
    assert page.url.startswith(stack.base_url + "/settings")
    assert "ana@example.com" in page.text
    cid = connection_id_for("u1")
    conn = stack.store.get_connection(cid)
    assert conn is not None
    assert conn.status is ConnectionStatus.ACTIVE
    assert conn.google_email == "ana@example.com"
    assert conn.google_subject
    assert conn.next_sync_at is not None
    assert stack.vault.get(cid).startswith("1//")
    cookie = next(c for c in http.cookies if c.name == "crmsync_session")
    assert cookie.has_nonstandard_attr("HttpOnly")
    assert not cookie.secure  # http://127.0.0.1 is local; production sets Secure


def test_deny_connects_nothing_and_says_so(stack: Stack) -> None:
    _, page = connect(stack, action="deny")
    assert page.status_code == 400
    assert "You declined access, so nothing was connected." in page.text
    assert 'id="retry"' in page.text
    assert stack.store.get_connection(connection_id_for("u1")) is None


def test_partial_grant_turns_tasks_off_and_says_why(stack: Stack) -> None:
    _, page = connect(stack, uncheck=(TASKS,))
    assert page.status_code == 200
    assert 'id="health-tasks-why">You did not allow Google access for this, so it is turned off.' in page.text
    assert "You did not allow" not in page.text.split('id="health-tasks-why"')[0]  # said once, on its line
    conn = stack.store.get_connection(connection_id_for("u1"))
    assert conn is not None
    assert not conn.settings.tasks.enabled
    assert conn.settings.contacts.enabled
    assert conn.settings.events.enabled


def test_form_post_changes_settings_and_invalid_input_is_shown_next_to_the_field(stack: Stack) -> None:
    http, page = connect(stack)
    form = {
        "csrf": csrf_of(page.text),
        "contacts.enabled": "on",
        "events.enabled": "on",
        "tasks.enabled": "on",
        "contacts.conflict_policy": "crm_wins",
        "interval_minutes": "30",
    }
    saved = http.post(stack.base_url + "/settings", data=form, timeout=10)
    assert saved.status_code == 200
    assert 'id="notice-saved"' in saved.text
    conn = stack.store.get_connection(connection_id_for("u1"))
    assert conn is not None
    assert conn.settings.contacts.conflict_policy is ConflictPolicy.CRM_WINS
    assert conn.settings.interval_minutes == 30
    bad = http.post(stack.base_url + "/settings", data={**form, "interval_minutes": "0"}, timeout=10)
    assert bad.status_code == 422
    assert 'id="interval_minutes-error"' in bad.text
    assert "Enter a whole number of minutes from 1 to 1440." in bad.text
    assert 'value="0"' in bad.text  # what the user typed is kept
    assert stack.store.get_connection(connection_id_for("u1")).settings.interval_minutes == 30  # type: ignore[union-attr]


def test_form_post_without_csrf_is_refused(stack: Stack) -> None:
    http, _ = connect(stack)
    resp = http.post(stack.base_url + "/settings", data={"interval_minutes": "9"}, timeout=10)
    assert resp.status_code == 403
    assert stack.store.get_connection(connection_id_for("u1")).settings.interval_minutes == 5  # type: ignore[union-attr]


def test_replayed_link_and_tampered_link_get_403_pages(stack: Stack) -> None:
    link = stack.link("u1")
    first = browser_session().get(link, allow_redirects=False, timeout=10)
    assert first.status_code == 200  # the confirmation page
    again = browser_session().get(link, allow_redirects=False, timeout=10)
    assert again.status_code == 403
    assert "This link was already used" in again.text
    tampered = browser_session().get(stack.link("u2")[:-3] + "abc", allow_redirects=False, timeout=10)
    assert tampered.status_code == 403
    assert "This link is not valid" in tampered.text


def test_callback_from_another_browser_is_refused(stack: Stack) -> None:
    consent_url = confirm(browser_session(), stack.link("u1"))
    # A second browser (no session cookie) completes the consent: the state is bound to the first one.
    page = consent(browser_session(), consent_url, email="ana@example.com")
    assert page.status_code == 400
    assert "another browser" in page.text
    assert stack.store.get_connection(connection_id_for("u1")) is None


def test_reconnect_with_a_different_google_account_is_refused(stack: Stack) -> None:
    stack.store.put_global_config({"email_match": "any"})  # else the e-mail check refuses other@ first
    connect(stack, email="ana@example.com")
    _, page = connect(stack, email="other@example.com")
    assert page.status_code == 409
    assert "disconnect ana@example.com on the settings page first" in page.text
    conn = stack.store.get_connection(connection_id_for("u1"))
    assert conn is not None
    assert conn.google_email == "ana@example.com"


def test_disconnect_revokes_at_google_and_forgets_the_token(stack: Stack, emulator) -> None:  # type: ignore[no-untyped-def]
    http, page = connect(stack)
    cid = connection_id_for("u1")
    refresh = stack.vault.get(cid)
    resp = http.post(stack.base_url + "/disconnect", data={"csrf": csrf_of(page.text)}, timeout=10)
    assert resp.status_code == 200
    assert 'id="notice-disconnected"' in resp.text
    conn = stack.store.get_connection(cid)
    assert conn is not None
    assert conn.status is ConnectionStatus.DISCONNECTED
    gone = requests.post(
        emulator.base_url + "/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": refresh,
            "client_id": stack.app.config.oauth_client_id,
            "client_secret": stack.app.config.oauth_client_secret,
        },
        timeout=10,
    )
    assert gone.status_code == 400
    assert gone.json()["error"] == "invalid_grant"
    from crmsync.vault.port import TokenNotFound

    with pytest.raises(TokenNotFound):
        stack.vault.get(cid)
    # After disconnecting, a different Google account may connect (where the admin allows any account).
    stack.store.put_global_config({"email_match": "any"})
    _, again = connect(stack, email="other@example.com")
    assert again.status_code == 200
    assert stack.store.get_connection(cid).google_email == "other@example.com"  # type: ignore[union-attr]


def test_sync_now_enqueues_one_task_per_minute(stack: Stack) -> None:
    http, page = connect(stack)
    csrf = csrf_of(page.text)
    first = http.post(stack.base_url + "/sync", data={"csrf": csrf}, timeout=10)
    second = http.post(stack.base_url + "/sync", data={"csrf": csrf}, timeout=10)
    assert 'id="notice-sync"' in first.text
    assert 'id="notice-queued"' in second.text or 'id="notice-sync"' in second.text
    names = {t.name for t in stack.queue.tasks}
    assert all(n and n.startswith(connection_id_for("u1")) for n in names)
    assert 1 <= len(stack.queue.tasks) <= 2
    assert Kind.CONTACTS  # kinds are importable for the page's labels
