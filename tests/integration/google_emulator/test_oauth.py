"""OAuth 2.0 web-server flow against the emulator through google-auth-oauthlib and google-auth."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from google.auth.exceptions import RefreshError
from google.auth.transport.requests import Request
from google.oauth2 import id_token
from google.oauth2.credentials import Credentials
from google_auth_oauthlib.flow import Flow
from googleapiclient.errors import HttpError
from oauthlib.oauth2.rfc6749.errors import InvalidGrantError

from infra.google_emulator.core import SCOPE_CALENDAR, SCOPE_EMAIL, SCOPE_OPENID, SCOPE_PROFILE, SCOPE_TASKS
from infra.google_emulator.server import EmulatorServer
from tests.support.google import service

pytestmark = pytest.mark.integration

CLIENT_ID = "crm-web.apps.googleusercontent.com"
SECRET = "s3cret"
REDIRECT = "http://localhost:8765/oauth/callback"
SCOPES = [SCOPE_OPENID, SCOPE_EMAIL, SCOPE_TASKS, SCOPE_CALENDAR]


def make_flow(base: str, scopes: list[str] = SCOPES, **kwargs: Any) -> tuple[Flow, str, str]:
    """A google-auth-oauthlib Flow aimed at the emulator and its authorization URL (PKCE on)."""
    config = {
        "web": {
            "client_id": CLIENT_ID,
            "client_secret": SECRET,
            "auth_uri": base + "/o/oauth2/auth",
            "token_uri": base + "/token",
            "redirect_uris": [REDIRECT],
        }
    }
    flow = Flow.from_client_config(config, scopes=scopes, redirect_uri=REDIRECT, autogenerate_code_verifier=True)
    params = {"access_type": "offline", "prompt": "consent", **kwargs}
    url, state = flow.authorization_url(**params)
    return flow, url, state


def consent(url: str, *, email: str = "ana@example.com", uncheck: tuple[str, ...] = (), action: str = "allow") -> str:
    """Drive the consent page with plain form posts like a browser; the redirect Location."""
    page = requests.get(url, timeout=5)
    assert page.status_code == 200, page.text
    assert 'id="allow"' in page.text
    assert 'id="deny"' in page.text
    assert 'id="email"' in page.text
    rid = re.search(r'name="rid" value="([^"]+)"', page.text)
    assert rid is not None
    offered = re.findall(r'name="scope" value="([^"]+)"', page.text)
    form = {"rid": rid.group(1), "email": email, "scope": [s for s in offered if s not in uncheck], "action": action}
    resp = requests.post(url.split("?")[0], data=form, allow_redirects=False, timeout=5)
    assert resp.status_code == 302, resp.text
    return resp.headers["Location"]


def query_of(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def test_allow_with_pkce_gives_tokens_that_call_the_api(emulator: EmulatorServer) -> None:
    flow, url, state = make_flow(emulator.base_url)
    assert "code_challenge=" in url
    assert "code_challenge_method=S256" in url
    location = consent(url)
    assert location.startswith(REDIRECT)
    assert query_of(location)["state"] == state
    token = flow.fetch_token(authorization_response=location)
    assert set(token["scope"]) == set(SCOPES)
    assert token["refresh_token"].startswith("1//")
    assert token["token_type"] == "Bearer"
    assert 3500 < token["expires_in"] <= 3600
    lists = service("tasks", emulator.base_url, flow.credentials).tasklists().list().execute()
    assert "items" in lists


def test_deny_redirects_with_access_denied(emulator: EmulatorServer) -> None:
    _, url, state = make_flow(emulator.base_url)
    location = consent(url, action="deny")
    assert query_of(location) == {"error": "access_denied", "state": state}


def test_partial_grant_echoes_granted_scopes_and_api_refuses_the_rest(
    emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OAUTHLIB_RELAX_TOKEN_SCOPE", "1")  # what an app must do to accept a partial grant
    flow, url, _ = make_flow(emulator.base_url)
    location = consent(url, uncheck=(SCOPE_CALENDAR,))
    assert SCOPE_CALENDAR not in query_of(location)["scope"]
    token = flow.fetch_token(authorization_response=location)
    assert set(token["scope"]) == {SCOPE_OPENID, SCOPE_EMAIL, SCOPE_TASKS}
    service("tasks", emulator.base_url, flow.credentials).tasklists().list().execute()
    with pytest.raises(HttpError) as err:
        service("calendar", emulator.base_url, flow.credentials).calendarList().list().execute()
    assert err.value.resp.status == 403
    assert err.value.error_details[0]["reason"] == "insufficientPermissions"


def test_partial_grant_trips_oauthlib_scope_check_without_relax(
    emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OAUTHLIB_RELAX_TOKEN_SCOPE", raising=False)
    flow, url, _ = make_flow(emulator.base_url)
    location = consent(url, uncheck=(SCOPE_CALENDAR,))
    with pytest.raises(Warning, match="Scope has changed"):
        flow.fetch_token(authorization_response=location)


def test_wrong_pkce_verifier_is_invalid_grant(emulator: EmulatorServer) -> None:
    flow, url, _ = make_flow(emulator.base_url)
    location = consent(url)
    flow.code_verifier = "x" * 64
    with pytest.raises(InvalidGrantError, match="code verifier"):
        flow.fetch_token(authorization_response=location)


def test_code_is_single_use_and_expires(emulator: EmulatorServer) -> None:
    flow, url, _ = make_flow(emulator.base_url)
    location = consent(url)
    verifier = flow.code_verifier
    flow.fetch_token(authorization_response=location)
    form = {
        "grant_type": "authorization_code",
        "code": query_of(location)["code"],
        "redirect_uri": REDIRECT,
        "code_verifier": verifier,
    }
    again = requests.post(emulator.base_url + "/token", data=form, auth=(CLIENT_ID, SECRET), timeout=5)
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"

    flow2, url2, _ = make_flow(emulator.base_url)
    location2 = consent(url2)
    requests.post(emulator.base_url + "/__emulator/clock", json={"advance_seconds": 601}, timeout=5).raise_for_status()
    with pytest.raises(InvalidGrantError, match="expired"):
        flow2.fetch_token(authorization_response=location2)


def test_refresh_works_until_revoked(emulator: EmulatorServer) -> None:
    flow, url, _ = make_flow(emulator.base_url)
    token = flow.fetch_token(authorization_response=consent(url))
    creds = Credentials(  # type: ignore[no-untyped-call]
        None,
        refresh_token=token["refresh_token"],
        token_uri=emulator.base_url + "/token",
        client_id=CLIENT_ID,
        client_secret=SECRET,
        scopes=SCOPES,
    )
    creds.refresh(Request())  # type: ignore[no-untyped-call]
    assert creds.token
    assert creds.token != token["access_token"]
    assert creds.id_token  # openid was granted
    revoked = requests.post(emulator.base_url + "/revoke", params={"token": token["refresh_token"]}, timeout=5)
    assert revoked.status_code == 200
    with pytest.raises(RefreshError, match="invalid_grant"):
        creds.refresh(Request())  # type: ignore[no-untyped-call]
    api = requests.get(
        emulator.base_url + "/tasks/v1/users/@me/lists", headers={"Authorization": "Bearer " + creds.token}, timeout=5
    )
    assert api.status_code == 401  # the grant's access tokens went with it
    unknown = requests.post(emulator.base_url + "/revoke", data={"token": "nope"}, timeout=5)
    assert unknown.status_code == 400
    assert unknown.json()["error"] == "invalid_token"


def test_revoking_an_access_token_revokes_the_refresh_token(emulator: EmulatorServer) -> None:
    grant = requests.post(
        emulator.base_url + "/__emulator/grants",
        json={"email": "bo@example.com", "client_id": CLIENT_ID, "scopes": [SCOPE_TASKS]},
        timeout=5,
    ).json()
    assert (
        requests.post(emulator.base_url + "/revoke", data={"token": grant["access_token"]}, timeout=5).status_code
        == 200
    )
    form = {"grant_type": "refresh_token", "refresh_token": grant["refresh_token"], "client_id": CLIENT_ID}
    resp = requests.post(emulator.base_url + "/token", data=form, timeout=5)
    assert resp.status_code == 400
    assert resp.json()["error"] == "invalid_grant"


def test_revoking_one_token_ends_the_apps_access_to_the_whole_account(emulator: EmulatorServer) -> None:
    def grant(email: str, client_id: str = CLIENT_ID) -> dict[str, str]:
        return dict(
            requests.post(
                emulator.base_url + "/__emulator/grants",
                json={"email": email, "client_id": client_id, "scopes": [SCOPE_TASKS]},
                timeout=5,
            ).json()
        )

    def refreshes(g: dict[str, str], client_id: str = CLIENT_ID) -> bool:
        form = {"grant_type": "refresh_token", "refresh_token": g["refresh_token"], "client_id": client_id}
        return requests.post(emulator.base_url + "/token", data=form, timeout=5).status_code == 200

    first, second, other_account = grant("di@example.com"), grant("di@example.com"), grant("ed@example.com")
    other_app = grant("di@example.com", "another-app.apps.googleusercontent.com")
    assert requests.post(emulator.base_url + "/revoke", data={"token": first["refresh_token"]}, timeout=5).ok
    assert not refreshes(first)
    assert not refreshes(second)  # same account, same app: its access is gone too
    assert refreshes(other_account)
    assert refreshes(other_app, "another-app.apps.googleusercontent.com")


def test_expired_access_token_is_401_and_google_auth_refreshes_and_retries(emulator: EmulatorServer) -> None:
    grant = requests.post(
        emulator.base_url + "/__emulator/grants",
        json={"email": "cy@example.com", "client_id": CLIENT_ID, "scopes": [SCOPE_TASKS]},
        timeout=5,
    ).json()
    requests.post(emulator.base_url + "/__emulator/clock", json={"advance_seconds": 3601}, timeout=5).raise_for_status()
    raw = requests.get(
        emulator.base_url + "/tasks/v1/users/@me/lists",
        timeout=5,
        headers={"Authorization": "Bearer " + grant["access_token"]},
    )
    assert raw.status_code == 401
    assert raw.json()["error"]["status"] == "UNAUTHENTICATED"
    creds = Credentials(  # type: ignore[no-untyped-call]
        grant["access_token"],
        refresh_token=grant["refresh_token"],
        client_id=CLIENT_ID,
        client_secret="any",
        token_uri=emulator.base_url + "/token",
    )
    service("tasks", emulator.base_url, creds).tasklists().list().execute()
    assert creds.token != grant["access_token"]


def test_userinfo_and_id_token_verify(emulator: EmulatorServer) -> None:
    scopes = [SCOPE_OPENID, SCOPE_EMAIL, SCOPE_PROFILE]
    requests.post(
        emulator.base_url + "/__emulator/accounts", json={"email": "Dee@Example.com", "name": "Dee Lin"}, timeout=5
    ).raise_for_status()
    flow, url, _ = make_flow(emulator.base_url, scopes)
    token = flow.fetch_token(authorization_response=consent(url, email="dee@example.com"))
    bearer = {"Authorization": "Bearer " + token["access_token"]}
    v2 = requests.get(emulator.base_url + "/oauth2/v2/userinfo", headers=bearer, timeout=5).json()
    oidc = requests.get(emulator.base_url + "/v1/userinfo", headers=bearer, timeout=5).json()
    assert v2["email"] == "dee@example.com"
    assert v2["verified_email"] is True
    assert v2["name"] == "Dee Lin"
    assert oidc["sub"] == v2["id"]
    assert oidc["email_verified"] is True
    for certs in ("/oauth2/v1/certs", "/oauth2/v3/certs"):
        claims = id_token.verify_token(
            token["id_token"], Request(), audience=CLIENT_ID, certs_url=emulator.base_url + certs
        )
        assert claims["sub"] == v2["id"]
        assert claims["email"] == "dee@example.com"
        assert claims["iss"] == "https://accounts.google.com"
        assert claims["aud"] == CLIENT_ID
    with pytest.raises(ValueError):
        id_token.verify_token(
            token["id_token"], Request(), audience="someone-else", certs_url=emulator.base_url + "/oauth2/v1/certs"
        )
    discovery = requests.get(emulator.base_url + "/.well-known/openid-configuration", timeout=5).json()
    assert discovery["token_endpoint"] == emulator.base_url + "/token"
    assert requests.get(emulator.base_url + "/v1/userinfo", timeout=5).status_code == 401


def test_refresh_token_only_on_first_offline_consent_or_prompt_consent(emulator: EmulatorServer) -> None:
    flow, url, _ = make_flow(emulator.base_url, prompt="select_account")
    assert "refresh_token" in flow.fetch_token(authorization_response=consent(url))
    flow, url, _ = make_flow(emulator.base_url, prompt="select_account")
    assert "refresh_token" not in flow.fetch_token(authorization_response=consent(url))
    flow, url, _ = make_flow(emulator.base_url, prompt="consent")
    assert "refresh_token" in flow.fetch_token(authorization_response=consent(url))
    flow, url, _ = make_flow(emulator.base_url, access_type="online")
    assert "refresh_token" not in flow.fetch_token(authorization_response=consent(url, email="new@example.com"))


def test_auto_approve_redirects_at_once_for_login_hint(emulator: EmulatorServer) -> None:
    requests.post(emulator.base_url + "/__emulator/settings", json={"auto_approve": True}, timeout=5).raise_for_status()
    flow, url, state = make_flow(emulator.base_url, login_hint="eve@example.com")
    resp = requests.get(url, allow_redirects=False, timeout=5)
    assert resp.status_code == 302
    assert query_of(resp.headers["Location"])["state"] == state
    flow.fetch_token(authorization_response=resp.headers["Location"])
    info = requests.get(
        emulator.base_url + "/oauth2/v2/userinfo",
        timeout=5,
        headers={"Authorization": "Bearer " + flow.credentials.token},
    ).json()
    assert info["email"] == "eve@example.com"


def test_bad_client_and_redirect_uri_show_an_error_page_not_a_redirect(emulator: EmulatorServer) -> None:
    base = emulator.base_url
    requests.post(base + "/__emulator/settings", json={"strict_clients": True}, timeout=5).raise_for_status()
    _, url, _ = make_flow(base)
    page = requests.get(url, allow_redirects=False, timeout=5)
    assert page.status_code == 401
    assert "invalid_client" in page.text
    requests.post(
        base + "/__emulator/clients",
        timeout=5,
        json={"client_id": CLIENT_ID, "client_secret": SECRET, "redirect_uris": ["https://crm.example/cb"]},
    ).raise_for_status()
    page = requests.get(url, allow_redirects=False, timeout=5)
    assert page.status_code == 400
    assert "redirect_uri_mismatch" in page.text
    resp = requests.get(
        base + "/o/oauth2/auth",
        params={
            "client_id": CLIENT_ID,
            "redirect_uri": "https://crm.example/cb",
            "response_type": "token",
            "scope": SCOPE_TASKS,
            "state": "s",
        },
        allow_redirects=False,
        timeout=5,
    )
    assert resp.status_code == 302
    assert query_of(resp.headers["Location"])["error"] == "unsupported_response_type"


def test_token_endpoint_errors(emulator: EmulatorServer) -> None:
    base = emulator.base_url
    requests.post(
        base + "/__emulator/clients",
        timeout=5,
        json={"client_id": CLIENT_ID, "client_secret": SECRET, "redirect_uris": [REDIRECT]},
    ).raise_for_status()

    def post(data: dict[str, str], auth: tuple[str, str] | None = (CLIENT_ID, SECRET)) -> requests.Response:
        return requests.post(base + "/token", data=data, auth=auth, timeout=5)

    assert post({"grant_type": "password"}).json()["error"] == "unsupported_grant_type"
    assert post({}).json()["error"] == "invalid_request"
    wrong = post({"grant_type": "refresh_token", "refresh_token": "x"}, auth=(CLIENT_ID, "wrong"))
    assert wrong.status_code == 401
    assert wrong.json()["error"] == "invalid_client"
    assert post({"grant_type": "authorization_code"}).json()["error"] == "invalid_request"
    assert post({"grant_type": "authorization_code", "code": "4/bogus"}).json()["error"] == "invalid_grant"
    assert post({"grant_type": "refresh_token", "refresh_token": "1//bogus"}).json()["error"] == "invalid_grant"


def test_prompt_none_reuses_an_existing_grant_or_says_consent_required(emulator: EmulatorServer) -> None:
    flow, url, _ = make_flow(emulator.base_url, login_hint="fay@example.com")
    flow.fetch_token(authorization_response=consent(url, email="fay@example.com"))
    _, silent, state = make_flow(emulator.base_url, prompt="none", login_hint="fay@example.com")
    resp = requests.get(silent, allow_redirects=False, timeout=5)
    assert resp.status_code == 302
    assert "code" in query_of(resp.headers["Location"])
    _, stranger, state = make_flow(emulator.base_url, prompt="none", login_hint="gus@example.com")
    resp = requests.get(stranger, allow_redirects=False, timeout=5)
    assert query_of(resp.headers["Location"]) == {"error": "consent_required", "state": state}
