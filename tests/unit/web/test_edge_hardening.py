"""Sessions and logs at the edge, through werkzeug's test client on fakes: the production cookie is
__Host- prefixed and Secure, HSTS is sent, and values a caller presents are never registered with the
log redactor (they are masked by their shape), while configured secrets stay registered however many
values the server issues."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest
from werkzeug.test import Client

from crmsync.model.kinds import Kind
from crmsync.obs.logging import redact
from crmsync.obs.redact import MASK, Redactor
from crmsync.security.links import mint_connect_token
from crmsync.web.app import WebApp
from tests.unit.services.appfakes import CRM_KEY, LINK_KEY, make_app, seed_connection

pytestmark = pytest.mark.unit
HTML = {"Accept": "text/html"}


@pytest.fixture
def clean_redactor() -> Iterator[None]:
    redact.clear()
    yield
    redact.clear()


def test_production_session_cookie_is_host_prefixed_secure_and_hsts_is_sent() -> None:
    from datetime import timedelta

    app, _google, clock = make_app()
    app.config = dataclasses.replace(app.config, base_url="https://sync.example.com")
    client = Client(WebApp(app))
    token = mint_connect_token(LINK_KEY, "u1", timedelta(minutes=5), clock())
    page = client.get(f"/connect?t={token}", headers=HTML)
    assert page.status_code == 200
    cookie = page.headers["Set-Cookie"]
    assert cookie.startswith("__Host-crmsync_session=")
    assert "Secure" in cookie and "Path=/" in cookie and "HttpOnly" in cookie and "Domain" not in cookie
    assert page.headers["Strict-Transport-Security"].startswith("max-age=")
    assert client.get("/healthz").headers["Strict-Transport-Security"].startswith("max-age=")


def test_the_web_function_will_not_start_without_its_own_session_key() -> None:
    from crmsync.config import ConfigError

    app, _google, _clock = make_app()
    app.config = dataclasses.replace(app.config, session_signing_key=None)
    with pytest.raises(ConfigError, match="CRMSYNC_SESSION_KEY"):
        WebApp(app)


@pytest.mark.usefixtures("clean_redactor")
def test_values_a_caller_presents_are_not_registered() -> None:
    app, _google, _clock = make_app()
    seed_connection(app, "u1", kinds=(Kind.CONTACTS,))
    client = Client(WebApp(app))
    chosen = ["disconnected by the user", "synced contacts", "connection_id", "Google_sync_settings_x"]
    client.get("/status", headers={"Authorization": f"Bearer {chosen[0]}", "X-CRM-User": "u1"})
    client.get(f"/connect?t={chosen[1]}", headers=HTML)
    client.set_cookie("crmsync_session", chosen[2])
    client.get("/settings", headers=HTML)
    client.get(f"/oauth/callback?state={chosen[3]}&code=abc", headers=HTML)
    client.get("/settings?t=" + chosen[1], headers=HTML)
    for text in chosen:
        assert redact.text(f"log line: {text}") == f"log line: {text}", f"{text!r} was registered"


@pytest.mark.usefixtures("clean_redactor")
def test_configured_secrets_stay_registered_however_many_values_are_issued() -> None:
    app, _google, _clock = make_app()  # bootstrap registers the configured secrets
    for i in range(25_000):
        redact.register(f"issued-value-{i:08d}")
    assert MASK in redact.text(f"oops {app.config.oauth_client_secret}")
    assert MASK in redact.text(f"oops {CRM_KEY}")


@pytest.mark.parametrize(
    "line",
    [
        "Authorization: Bearer made-up-by-a-caller-123",
        "Cookie: crmsync_session=s1.eyJzdWIiOiJ1MSJ9abcdef.abcdefghijklmnopqrstu; other=1",
        "GET /settings?t=anything-at-all-here HTTP/1.1",
        "GET /oauth/callback?state=whatever-it-is&code=4/0AemuXYZabcdefghijk HTTP/1.1",
        "data {'grant_type': 'authorization_code', 'code': '4/0AemuXYZabcdefghijk'}",
        "set __Host-crmsync_session=s1.payloadpayloadpayload.macmacmacmacmacmacmac",
    ],
)
def test_presented_values_are_masked_by_their_shape(line: str) -> None:
    masked = Redactor().text(line)
    for secret in (
        "made-up-by-a-caller-123",
        "s1.eyJzdWIiOiJ1MSJ9abcdef",
        "anything-at-all-here",
        "whatever-it-is",
        "4/0AemuXYZabcdefghijk",
        "payloadpayloadpayload",
    ):
        assert secret not in masked, masked
