"""Two first connects of one Google account at the same moment, over real HTTP: one wins, the other is
refused (one Google account joins one CRM user unless the admin allows sharing)."""

from __future__ import annotations

import re
import threading

import pytest
import requests

from crmsync.model.state import ConnectionStatus
from crmsync.services.disconnect import disconnect
from crmsync.services.scopes import connection_id_for
from infra.google_emulator.oauth import oauth_store
from infra.google_emulator.server import EmulatorServer
from tests.integration.web.browserless import browser_session, confirm
from tests.integration.web.stack import Stack

pytestmark = pytest.mark.integration

ROUNDS = 12


def _callback_url(stack: Stack, user: str, email: str) -> tuple[requests.Session, str]:
    """Everything up to the OAuth callback: the browser session and the callback URL Google sends it to."""
    http = browser_session()
    consent_url = confirm(http, stack.link(user))
    page = http.get(consent_url, timeout=10)
    rid = re.search(r'name="rid" value="([^"]+)"', page.text)
    assert rid is not None
    scopes = re.findall(r'name="scope" value="([^"]+)"', page.text)
    answer = http.post(
        page.url.split("?")[0],
        data={"rid": rid.group(1), "email": email, "scope": scopes, "action": "allow"},
        allow_redirects=False,
        timeout=10,
    )
    assert answer.status_code in (302, 303), answer.text
    return http, str(answer.headers["Location"])


def _both_at_once(calls: list[tuple[requests.Session, str]]) -> list[int]:
    start = threading.Barrier(len(calls))
    codes = [0] * len(calls)

    def go(i: int) -> None:
        http, url = calls[i]
        start.wait()
        codes[i] = http.get(url, timeout=30).status_code

    threads = [threading.Thread(target=go, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return codes


def test_simultaneous_first_connects_of_one_google_account_join_one_crm_user(stack: Stack) -> None:
    stack.store.put_global_config({"email_match": "any"})
    for n in range(ROUNDS):
        a, b = f"ra{n}", f"rb{n}"
        stack.crm.add_user(f"{a}@example.com", f"A{n}", user_id=a)
        stack.crm.add_user(f"{b}@example.com", f"B{n}", user_id=b)
        email = f"shared{n}@example.com"
        codes = _both_at_once([_callback_url(stack, a, email), _callback_url(stack, b, email)])
        live = [
            c
            for c in (stack.store.get_connection(connection_id_for(u)) for u in (a, b))
            if c is not None and c.status is not ConnectionStatus.DISCONNECTED
        ]
        assert len(live) == 1, f"round {n}: {email} joined {[c.crm_user_id for c in live]} (answers {codes})"
        assert sorted(codes) == [200, 403], f"round {n}: answers {codes}"


def test_after_a_disconnect_the_account_can_join_another_crm_user(stack: Stack) -> None:
    stack.store.put_global_config({"email_match": "any"})
    first = _both_at_once([_callback_url(stack, "u1", "ana@example.com")])
    assert first == [200]
    refused = _both_at_once([_callback_url(stack, "u2", "ana@example.com")])
    assert refused == [403]
    disconnect(stack.app, "u1")
    assert _both_at_once([_callback_url(stack, "u2", "ana@example.com")]) == [200]


def test_disconnecting_one_of_two_users_sharing_a_google_account_keeps_the_others_access(
    stack: Stack, emulator: EmulatorServer
) -> None:
    stack.store.put_global_config({"email_match": "any", "share_google_accounts": True})
    assert _both_at_once([_callback_url(stack, "u1", "ana@example.com")]) == [200]
    assert _both_at_once([_callback_url(stack, "u2", "ana@example.com")]) == [200]
    result = disconnect(stack.app, "u1")
    assert result.google_access_kept  # revoking would end Bo's sync too: at Google access is per account and app
    fresh = requests.post(
        emulator.base_url + "/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": stack.vault.get(connection_id_for("u2")),
            "client_id": stack.app.config.oauth_client_id,
            "client_secret": stack.app.config.oauth_client_secret,
        },
        timeout=10,
    )
    assert fresh.status_code == 200, fresh.text
    # The last one to disconnect revokes.
    assert not disconnect(stack.app, "u2").google_access_kept
    assert all(g.revoked for g in oauth_store(emulator.state).grants if g.email == "ana@example.com")
