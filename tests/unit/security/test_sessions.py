"""Signed session cookies and CSRF tokens."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from crmsync.security import KeyTooShort, check_csrf, csrf_token, issue_session, read_session

pytestmark = pytest.mark.unit

KEY = b"s" * 32
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
TTL = timedelta(hours=8)


def test_round_trip() -> None:
    value = issue_session(KEY, "crm-7", "conn-9", TTL, NOW)
    session = read_session(value, KEY, NOW + timedelta(hours=1))
    assert session is not None
    assert (session.crm_user_id, session.connection_id) == ("crm-7", "conn-9")
    assert session.expires_at == NOW + TTL
    assert session.issued_at == NOW


def test_session_without_connection() -> None:
    session = read_session(issue_session(KEY, "crm-7", None, TTL, NOW), KEY, NOW)
    assert session is not None
    assert session.connection_id is None


def test_expired_session_is_none() -> None:
    value = issue_session(KEY, "crm-7", "c", TTL, NOW)
    assert read_session(value, KEY, NOW + TTL) is None


def test_wrong_key_is_none() -> None:
    assert read_session(issue_session(KEY, "crm-7", "c", TTL, NOW), b"x" * 32, NOW) is None


def test_tampered_value_is_none() -> None:
    value = issue_session(KEY, "crm-7", "c", TTL, NOW)
    prefix, payload, mac = value.split(".")
    flipped = payload[:-2] + ("A" if payload[-2] != "A" else "B") + payload[-1]
    assert read_session(f"{prefix}.{flipped}.{mac}", KEY, NOW) is None
    assert read_session(value + "x", KEY, NOW) is None


@pytest.mark.parametrize("garbage", [None, "", "s1.", "s1..", "nonsense", "s1.ü.ü", "s1.e30." + "A" * 43, "x" * 5000])
def test_garbage_is_none(garbage: str | None) -> None:
    assert read_session(garbage, KEY, NOW) is None


def test_csrf_token_matches_only_its_session() -> None:
    a = read_session(issue_session(KEY, "crm-7", "c", TTL, NOW), KEY, NOW)
    b = read_session(issue_session(KEY, "crm-7", "c", TTL, NOW), KEY, NOW)
    assert a is not None
    assert b is not None
    assert check_csrf(a, csrf_token(a))
    assert not check_csrf(a, csrf_token(b))
    assert not check_csrf(a, "")
    assert not check_csrf(a, None)
    assert not check_csrf(a, "ü" * 43)


def test_short_key_is_refused() -> None:
    with pytest.raises(KeyTooShort):
        issue_session(b"k" * 31, "crm-7", None, TTL, NOW)
