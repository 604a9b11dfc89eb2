"""Where crmsync.google.client points the real client library."""

from __future__ import annotations

import pytest
from google.oauth2.credentials import Credentials

from crmsync.google.client import Endpoint, build_service, new_batch, user_credentials

pytestmark = pytest.mark.unit


def test_emulator_endpoints() -> None:
    ep = Endpoint("http://127.0.0.1:5555/")
    assert ep.api_endpoint("people") == "http://127.0.0.1:5555"
    assert ep.api_endpoint("calendar") == "http://127.0.0.1:5555/calendar/v3/"
    assert ep.batch_uri("people") == "http://127.0.0.1:5555/batch"
    assert ep.batch_uri("calendar") == "http://127.0.0.1:5555/batch/calendar/v3"
    assert ep.token_uri == "http://127.0.0.1:5555/token"
    assert new_batch("tasks", ep)._batch_uri == "http://127.0.0.1:5555/batch"


def test_real_google_by_default() -> None:
    ep = Endpoint()
    assert ep.api_endpoint("people") is None
    assert ep.batch_uri("calendar") == "https://www.googleapis.com/batch/calendar/v3"
    assert ep.token_uri == "https://oauth2.googleapis.com/token"


def test_services_use_the_endpoint_and_a_timeout() -> None:
    creds = user_credentials(refresh_token="r", client_id="c", client_secret="s", scopes=["b", "a"])
    assert isinstance(creds, Credentials)
    assert creds.scopes == ["a", "b"]
    ep = Endpoint("http://127.0.0.1:5555", timeout=7)
    cal = build_service("calendar", creds, ep)
    assert cal._baseUrl == "http://127.0.0.1:5555/calendar/v3/"
    assert cal._http.http.timeout == 7
    assert build_service("people", creds)._baseUrl == "https://people.googleapis.com/"


def test_bad_configuration_is_refused_clearly() -> None:
    with pytest.raises(ValueError, match="http"):
        Endpoint("localhost:8080")
    with pytest.raises(ValueError, match="unknown Google API 'gmail'"):
        Endpoint().batch_uri("gmail")
