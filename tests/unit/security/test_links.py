"""Signed connect links: mint, verify, and every way a link can be refused."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from crmsync.security import (
    InMemoryNonceStore,
    KeyTooShort,
    LinkExpired,
    LinkInvalid,
    LinkReplayed,
    mint_connect_token,
    verify_connect_token,
)

pytestmark = pytest.mark.unit

KEY = b"k" * 32
OTHER_KEY = b"o" * 32
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
TTL = timedelta(minutes=15)


def test_round_trip_returns_claims() -> None:
    token = mint_connect_token(KEY, "crm-user-42", TTL, NOW)
    claims = verify_connect_token(token, KEY, NOW + timedelta(minutes=1), InMemoryNonceStore())
    assert claims.crm_user_id == "crm-user-42"
    assert claims.issued_at == NOW
    assert claims.expires_at == NOW + TTL
    assert len(base64.urlsafe_b64decode(claims.nonce + "==")) == 16


def test_nonces_are_random() -> None:
    store = InMemoryNonceStore()
    a = verify_connect_token(mint_connect_token(KEY, "u", TTL, NOW), KEY, NOW, store)
    b = verify_connect_token(mint_connect_token(KEY, "u", TTL, NOW), KEY, NOW, store)
    assert a.nonce != b.nonce


def test_second_use_is_replay() -> None:
    store = InMemoryNonceStore(clock=lambda: NOW)
    token = mint_connect_token(KEY, "u", TTL, NOW)
    verify_connect_token(token, KEY, NOW, store)
    with pytest.raises(LinkReplayed):
        verify_connect_token(token, KEY, NOW + timedelta(seconds=1), store)


def test_expired_link_within_leeway_still_works_then_expires() -> None:
    token = mint_connect_token(KEY, "u", TTL, NOW)
    verify_connect_token(token, KEY, NOW + TTL + timedelta(seconds=3), InMemoryNonceStore())
    with pytest.raises(LinkExpired):
        verify_connect_token(token, KEY, NOW + TTL + timedelta(seconds=6), InMemoryNonceStore())


def test_link_from_the_future_is_invalid_beyond_leeway() -> None:
    token = mint_connect_token(KEY, "u", TTL, NOW)
    verify_connect_token(token, KEY, NOW - timedelta(seconds=3), InMemoryNonceStore())
    with pytest.raises(LinkInvalid, match="future"):
        verify_connect_token(token, KEY, NOW - timedelta(seconds=60), InMemoryNonceStore())


def test_wrong_key_is_invalid() -> None:
    token = mint_connect_token(KEY, "u", TTL, NOW)
    with pytest.raises(LinkInvalid, match="signature"):
        verify_connect_token(token, OTHER_KEY, NOW, InMemoryNonceStore())


def test_tampered_payload_is_invalid() -> None:
    header, payload, sig = mint_connect_token(KEY, "u", TTL, NOW).split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["sub"] = "admin"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    with pytest.raises(LinkInvalid):
        verify_connect_token(f"{header}.{forged}.{sig}", KEY, NOW, InMemoryNonceStore())


@pytest.mark.parametrize("garbage", ["", "abc", "a.b.c", "eyJ.eyJ.x", "x" * 5000])
def test_garbage_is_invalid(garbage: str) -> None:
    with pytest.raises(LinkInvalid):
        verify_connect_token(garbage, KEY, NOW, InMemoryNonceStore())


def test_wrong_audience_is_invalid() -> None:
    claims = {
        "sub": "u",
        "aud": "someone-else",
        "purpose": "connect",
        "iat": int(NOW.timestamp()),
        "exp": int((NOW + TTL).timestamp()),
        "nonce": "n1",
    }
    with pytest.raises(LinkInvalid, match="crmsync-connect"):
        verify_connect_token(jwt.encode(claims, KEY, algorithm="HS256"), KEY, NOW, InMemoryNonceStore())


def test_missing_nonce_is_invalid() -> None:
    claims = {"sub": "u", "aud": "crmsync-connect", "iat": int(NOW.timestamp()), "exp": int((NOW + TTL).timestamp())}
    with pytest.raises(LinkInvalid, match="nonce"):
        verify_connect_token(jwt.encode(claims, KEY, algorithm="HS256"), KEY, NOW, InMemoryNonceStore())


def test_alg_none_is_invalid() -> None:
    claims = {
        "sub": "u",
        "aud": "crmsync-connect",
        "iat": int(NOW.timestamp()),
        "exp": int((NOW + TTL).timestamp()),
        "nonce": "n",
    }
    with pytest.raises(LinkInvalid):
        verify_connect_token(jwt.encode(claims, None, algorithm="none"), KEY, NOW, InMemoryNonceStore())


def test_short_key_is_refused_clearly() -> None:
    with pytest.raises(KeyTooShort, match="at least 32"):
        mint_connect_token(b"short", "u", TTL, NOW)
    with pytest.raises(KeyTooShort, match="at least 32"):
        verify_connect_token("x.y.z", b"short", NOW, InMemoryNonceStore())


def test_bad_mint_arguments() -> None:
    with pytest.raises(ValueError, match="ttl"):
        mint_connect_token(KEY, "u", timedelta(0), NOW)
    with pytest.raises(ValueError, match="timezone"):
        mint_connect_token(KEY, "u", TTL, datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="crm_user_id"):
        mint_connect_token(KEY, "", TTL, NOW)


def test_nonce_store_forgets_expired_nonces() -> None:
    now = [NOW]
    store = InMemoryNonceStore(clock=lambda: now[0])
    assert store.consume("n1", NOW + TTL)
    assert not store.consume("n1", NOW + TTL)
    now[0] = NOW + TTL + timedelta(seconds=1)
    assert store.consume("n2", now[0] + TTL)
    assert "n1" not in store._seen
