"""Connecting safely, over real HTTP against the Google emulator's OAuth: a forwarded link cannot join
someone else's Google account, one Google account joins one CRM user, odd links are a clear 403, and
no session exists before the admin's rules allow the user."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
import requests

from crmsync.model.state import ConnectionStatus
from crmsync.services.scopes import connection_id_for
from infra.google_emulator.oauth import oauth_store
from infra.google_emulator.server import EmulatorServer
from tests.integration.web.browserless import browser_session, confirm, connect, consent, csrf_of
from tests.integration.web.stack import LINK_KEY, Stack

pytestmark = pytest.mark.integration


def _grant(emulator: EmulatorServer, email: str):  # type: ignore[no-untyped-def]
    grants = [g for g in oauth_store(emulator.state).grants if g.email == email]
    assert grants, f"no grant for {email}"
    return grants[-1]


def _nothing_stored(stack: Stack, user: str = "u1") -> None:
    assert stack.store.get_connection(connection_id_for(user)) is None
    from crmsync.vault.port import TokenNotFound

    with pytest.raises(TokenNotFound):
        stack.vault.get(connection_id_for(user))


def test_the_confirmation_page_names_the_crm_user_before_any_consent(stack: Stack) -> None:
    http = browser_session()
    page = http.get(stack.link("u1"), allow_redirects=False, timeout=10)
    assert page.status_code == 200
    assert 'id="confirm-name">Ana<' in page.text
    assert 'id="confirm-email">ana@example.com<' in page.text
    assert 'id="confirm-not-me"' in page.text
    # The session the link opened is for confirming only: it does not reach the settings.
    assert http.get(stack.base_url + "/settings", timeout=10).status_code == 401


def test_the_confirmation_page_says_which_google_account_already_syncs(stack: Stack) -> None:
    assert 'id="confirm-current"' not in browser_session().get(stack.link("u1"), timeout=10).text
    connect(stack, "u1")
    page = browser_session().get(stack.link("u1"), timeout=10)
    assert re.search(r'id="confirm-current">[^<]*<strong>ana@example.com</strong>', page.text)


def test_google_is_asked_with_login_hint_of_the_crm_users_email(stack: Stack) -> None:
    consent_url = confirm(browser_session(), stack.link("u2"))
    assert parse_qs(urlsplit(consent_url).query)["login_hint"] == ["bo@example.com"]


def test_this_is_not_me_connects_nothing_and_ends_the_session(stack: Stack) -> None:
    http = browser_session()
    page = http.get(stack.link("u1"), timeout=10)
    csrf = csrf_of(page.text)
    out = http.post(stack.base_url + "/connect/cancel", data={"csrf": csrf}, timeout=10)
    assert out.status_code == 200
    assert "nothing was connected" in out.text
    assert not [c for c in http.cookies if "crmsync_session" in c.name]
    after = http.post(stack.base_url + "/connect/confirm", data={"csrf": csrf}, allow_redirects=False, timeout=10)
    assert after.status_code in (401, 403, 404)
    _nothing_stored(stack)


def test_a_forwarded_link_used_with_another_google_account_is_refused_and_the_grant_revoked(
    stack: Stack, emulator: EmulatorServer
) -> None:
    _, page = connect(stack, "u1", email="colleague@example.com")
    assert page.status_code == 403
    assert "you signed in to Google as colleague@example.com" in page.text
    assert "Ana (ana@example.com)" in page.text
    assert "Nothing was connected" in page.text
    _nothing_stored(stack)
    assert _grant(emulator, "colleague@example.com").revoked


def test_domain_mode_accepts_an_address_at_the_crm_users_domain_only(stack: Stack, emulator: EmulatorServer) -> None:
    stack.store.put_global_config({"email_match": "domain"})
    _, refused = connect(stack, "u1", email="ana@elsewhere.example")
    assert refused.status_code == 403
    assert "an address at example.com" in refused.text
    assert _grant(emulator, "ana@elsewhere.example").revoked
    _, page = connect(stack, "u1", email="ana.private@example.com")
    assert page.status_code == 200
    assert stack.store.get_connection(connection_id_for("u1")).google_email == "ana.private@example.com"  # type: ignore[union-attr]


def test_any_mode_accepts_any_google_account(stack: Stack) -> None:
    stack.store.put_global_config({"email_match": "any"})
    _, page = connect(stack, "u1", email="someone@gmail.example")
    assert page.status_code == 200


def test_one_google_account_joins_one_crm_user_unless_the_admin_allows_sharing(
    stack: Stack, emulator: EmulatorServer
) -> None:
    stack.store.put_global_config({"email_match": "any"})
    connect(stack, "u1", email="ana@example.com")
    first = stack.store.get_connection(connection_id_for("u1"))
    assert first is not None
    _, page = connect(stack, "u2", email="ana@example.com")
    assert page.status_code == 403
    assert "already connected to another CRM user" in page.text
    assert stack.store.get_connection(connection_id_for("u2")) is None
    # Ana's own connection still works: her grant was not revoked on Bo's account's behalf.
    refresh = stack.vault.get(connection_id_for("u1"))
    fresh = requests.post(
        emulator.base_url + "/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": refresh,
            "client_id": stack.app.config.oauth_client_id,
            "client_secret": stack.app.config.oauth_client_secret,
        },
        timeout=10,
    )
    assert fresh.status_code == 200, fresh.text
    stack.store.put_global_config({"email_match": "any", "share_google_accounts": True})
    _, shared = connect(stack, "u2", email="ana@example.com")
    assert shared.status_code == 200
    assert stack.store.get_connection(connection_id_for("u2")) is not None


def _signed(payload: str) -> str:
    return jwt.api_jws.PyJWS().encode(payload.encode(), LINK_KEY.encode(), algorithm="HS256")


@pytest.mark.parametrize(
    "exp",
    ["NaN", "Infinity", str(2**64), "1e999", '"soon"', "null", "LIFETIME_2H"],
)
def test_odd_or_long_lived_links_get_a_clear_403_page_and_no_session(stack: Stack, exp: str) -> None:
    iat = int(datetime.now(UTC).timestamp())
    value = str(iat + 7200) if exp == "LIFETIME_2H" else exp
    payload = json.dumps(
        {"sub": "u1", "aud": "crmsync-connect", "purpose": "connect", "iat": iat, "exp": "__X__", "nonce": "n" * 22}
    ).replace('"__X__"', value)
    http = browser_session()
    page = http.get(f"{stack.base_url}/connect?t={_signed(payload)}", allow_redirects=False, timeout=10)
    assert page.status_code == 403, page.text
    assert "This link is not valid" in page.text
    assert "Set-Cookie" not in page.headers


def test_no_session_before_the_policy_allows_the_user(stack: Stack) -> None:
    stack.store.put_global_config({"connect": {"mode": "users", "user_ids": ["u2"]}})
    http = browser_session()
    page = http.get(stack.link("u1"), allow_redirects=False, timeout=10)
    assert page.status_code == 403
    assert "not enabled Google sync for your account" in page.text
    assert "Set-Cookie" not in page.headers


def test_a_state_from_the_wrong_browser_is_not_consumed(stack: Stack) -> None:
    owner = browser_session()
    consent_url = confirm(owner, stack.link("u1"))
    stranger = consent(browser_session(), consent_url, email="ana@example.com")
    assert stranger.status_code == 400
    assert "another browser" in stranger.text
    # The browser that started the sign-in can still finish it with the same state.
    page = consent(owner, consent_url, email="ana@example.com")
    assert page.status_code == 200, page.text
    assert page.url.startswith(stack.base_url + "/settings")
    assert stack.store.get_connection(connection_id_for("u1")) is not None


def test_malformed_states_are_a_clear_400(stack: Stack) -> None:
    http = browser_session()
    for state in ("a/b", "..", "__x__", "x" * 300, "%00"):
        page = http.get(f"{stack.base_url}/oauth/callback", params={"state": state, "code": "c"}, timeout=10)
        assert page.status_code == 400, (state, page.status_code)


def test_the_policy_is_checked_on_every_request(stack: Stack) -> None:
    http, _page = connect(stack, "u1")
    assert http.get(stack.base_url + "/settings", timeout=10).status_code == 200
    stack.store.put_global_config({"connect": {"mode": "users", "user_ids": ["u2"]}})
    assert http.get(stack.base_url + "/settings", timeout=10).status_code == 403
    api = {"Authorization": "Bearer " + stack.app.config.crm_api_key, "X-CRM-User": "u1", "Accept": "application/json"}
    assert requests.get(stack.base_url + "/settings", headers=api, timeout=10).status_code == 403


def test_disconnect_ends_the_users_other_sessions(stack: Stack) -> None:
    http, page = connect(stack, "u1")
    other = browser_session()
    assert other.get(stack.settings_link("u1"), timeout=10).status_code == 200
    assert other.get(stack.base_url + "/settings", timeout=10).status_code == 200
    out = http.post(stack.base_url + "/disconnect", data={"csrf": csrf_of(page.text)}, timeout=10)
    assert 'id="notice-disconnected"' in out.text  # the browser that disconnected sees the result
    assert other.get(stack.base_url + "/settings", timeout=10).status_code == 401


def test_logout_ends_the_session(stack: Stack) -> None:
    http, page = connect(stack, "u1")
    other = browser_session()
    other.get(stack.settings_link("u1"), timeout=10)
    refused = http.post(stack.base_url + "/logout", data={"csrf": "wrong"}, timeout=10)
    assert refused.status_code == 403
    out = http.post(stack.base_url + "/logout", data={"csrf": csrf_of(page.text)}, timeout=10)
    assert out.status_code == 200
    assert "signed out" in out.text
    assert http.get(stack.base_url + "/settings", timeout=10).status_code == 401
    assert other.get(stack.base_url + "/settings", timeout=10).status_code == 401
    conn = stack.store.get_connection(connection_id_for("u1"))
    assert conn is not None and conn.status is ConnectionStatus.ACTIVE  # signing out disconnects nothing


def test_a_settings_link_opens_the_settings_without_google_consent(stack: Stack, emulator: EmulatorServer) -> None:
    connect(stack, "u1")
    grants = len(oauth_store(emulator.state).grants)
    http = browser_session()
    link = stack.settings_link("u1")
    page = http.get(link, timeout=10)
    assert page.status_code == 200
    assert page.url == stack.base_url + "/settings"
    assert "ana@example.com" in page.text
    assert len(oauth_store(emulator.state).grants) == grants  # no consent happened
    cookie = next(c for c in http.cookies if c.name == "crmsync_session")
    assert cookie.expires is not None
    assert timedelta(hours=7) < timedelta(seconds=cookie.expires - datetime.now(UTC).timestamp()) <= timedelta(hours=8)
    assert browser_session().get(link, timeout=10).status_code == 403  # single use


def test_connect_and_settings_links_do_not_stand_in_for_each_other(stack: Stack) -> None:
    connect(stack, "u1")
    as_settings = stack.link("u1").replace("/connect?", "/settings?")
    as_connect = stack.settings_link("u1").replace("/settings?", "/connect?")
    for link in (as_settings, as_connect):
        http = browser_session()
        page = http.get(link, allow_redirects=False, timeout=10)
        assert page.status_code == 403, link
        assert "Set-Cookie" not in page.headers


def test_a_settings_link_for_a_user_who_is_not_connected_opens_nothing(stack: Stack) -> None:
    page = browser_session().get(stack.settings_link("u2"), allow_redirects=False, timeout=10)
    assert page.status_code == 404
    assert "Set-Cookie" not in page.headers
