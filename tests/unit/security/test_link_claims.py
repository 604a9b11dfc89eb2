"""Links whose signature is fine but whose claims are not: too long-lived, odd numbers, wrong types,
the wrong purpose. Every one is a LinkInvalid (a clear 403 at the web layer), never another exception."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest

from crmsync.security import InMemoryNonceStore, LinkInvalid, verify_connect_token
from crmsync.security.links import (
    LinkPurpose,
    mint_connect_token,
    mint_settings_token,
    verify_settings_token,
)

pytestmark = pytest.mark.unit

KEY = b"k" * 32
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
IAT = int(NOW.timestamp())


def _claims(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "sub": "u1",
        "aud": "crmsync-connect",
        "purpose": "connect",
        "iat": IAT,
        "exp": IAT + 600,
        "nonce": "n-" + "x" * 20,
    }
    base.update(overrides)
    return base


def _raw_token(payload_json: str) -> str:
    """An HS256 token over a payload written by hand (so NaN, 1e999 and the like survive)."""
    segments = jwt.api_jws.PyJWS().encode(payload_json.encode(), KEY, algorithm="HS256")
    return segments


def test_a_link_valid_for_longer_than_15_minutes_is_refused() -> None:
    token = jwt.encode(_claims(exp=IAT + 15 * 60 + 1), KEY, algorithm="HS256")
    with pytest.raises(LinkInvalid, match="longer than"):
        verify_connect_token(token, KEY, NOW, InMemoryNonceStore())


def test_a_link_valid_for_exactly_15_minutes_is_fine() -> None:
    token = jwt.encode(_claims(exp=IAT + 15 * 60), KEY, algorithm="HS256")
    assert verify_connect_token(token, KEY, NOW, InMemoryNonceStore()).crm_user_id == "u1"


def test_minting_refuses_a_lifetime_the_server_would_refuse() -> None:
    with pytest.raises(ValueError, match="ttl"):
        mint_connect_token(KEY, "u1", timedelta(hours=1), NOW)


def test_exp_before_iat_is_refused() -> None:
    token = jwt.encode(_claims(exp=IAT - 1), KEY, algorithm="HS256")
    with pytest.raises(LinkInvalid, match="before"):
        verify_connect_token(token, KEY, NOW, InMemoryNonceStore())


@pytest.mark.parametrize(
    ("field", "raw"),
    [
        ("exp", "NaN"),
        ("exp", "Infinity"),
        ("exp", "-Infinity"),
        ("iat", "NaN"),
        ("exp", "1e999"),
        ("exp", str(2**64)),
        ("exp", str(10**400)),
        ("iat", str(-(2**63))),
        ("exp", '"1767268800"'),
        ("exp", "true"),
        ("exp", "null"),
        ("exp", "[1767268800]"),
        ("exp", '{"t": 1}'),
        ("iat", "1.5e308"),
    ],
)
def test_odd_times_are_invalid_never_a_crash(field: str, raw: str) -> None:
    body = _claims()
    body[field] = "__RAW__"
    payload = json.dumps(body).replace('"__RAW__"', raw)
    with pytest.raises(LinkInvalid):
        verify_connect_token(_raw_token(payload), KEY, NOW, InMemoryNonceStore())


@pytest.mark.parametrize(
    "overrides",
    [
        {"sub": 42},
        {"sub": ""},
        {"sub": "u" * 300},
        {"sub": ["u1"]},
        {"nonce": None},
        {"nonce": 7},
        {"purpose": None},
        {"purpose": "admin"},
    ],
)
def test_odd_strings_are_invalid(overrides: dict[str, Any]) -> None:
    token = jwt.encode(_claims(**overrides), KEY, algorithm="HS256")
    with pytest.raises(LinkInvalid):
        verify_connect_token(token, KEY, NOW, InMemoryNonceStore())


@pytest.mark.parametrize("payload", ["[1, 2]", '"text"', "123", "null", "[" * 5000 + "]" * 5000])
def test_a_payload_that_is_not_an_object_is_invalid(payload: str) -> None:
    with pytest.raises(LinkInvalid):
        verify_connect_token(_raw_token(payload), KEY, NOW, InMemoryNonceStore())


def test_a_link_without_purpose_is_refused() -> None:
    claims = _claims()
    del claims["purpose"]
    with pytest.raises(LinkInvalid, match="purpose"):
        verify_connect_token(jwt.encode(claims, KEY, algorithm="HS256"), KEY, NOW, InMemoryNonceStore())


def test_a_settings_link_is_not_a_connect_link_and_vice_versa() -> None:
    settings = mint_settings_token(KEY, "u1", timedelta(minutes=5), NOW)
    connect = mint_connect_token(KEY, "u1", timedelta(minutes=5), NOW)
    nonces = InMemoryNonceStore(clock=lambda: NOW)
    with pytest.raises(LinkInvalid, match="not a connect link"):
        verify_connect_token(settings, KEY, NOW, nonces)
    with pytest.raises(LinkInvalid, match="not a settings link"):
        verify_settings_token(connect, KEY, NOW, nonces)
    # A refused link was not consumed: each still works for its own purpose.
    assert verify_settings_token(settings, KEY, NOW, nonces).purpose is LinkPurpose.SETTINGS
    assert verify_connect_token(connect, KEY, NOW, nonces).purpose is LinkPurpose.CONNECT
