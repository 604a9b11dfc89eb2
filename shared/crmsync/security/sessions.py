"""Signed session cookie values (HMAC-SHA256) and CSRF tokens derived from them.

Value format: "s1." + base64url(JSON payload) + "." + base64url(HMAC-SHA256(key, "s1." + payload)).
The payload is signed, not encrypted: it holds ids and times, and a CSRF secret that only
matters together with the HttpOnly cookie it travels in.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from crmsync.security.errors import check_key

PREFIX = "s1."
MAX_COOKIE_CHARS = 4096


class SessionStage(StrEnum):
    """What a session may do."""

    CONNECT = "connect"  # opened by a connect link: confirm or cancel, then Google's consent; nothing else
    SETTINGS = "settings"  # the Google account was verified (or a settings link was used): the settings page
    ADMIN = "admin"  # signed in with the admin key: the admin pages, never a user's settings


@dataclass(frozen=True)
class Session:
    """A signed-in CRM user's browser session."""

    crm_user_id: str
    connection_id: str | None
    issued_at: datetime
    expires_at: datetime
    csrf_secret: str
    stage: SessionStage = SessionStage.SETTINGS
    generation: int = 0  # the user's session generation when issued; a higher stored one ends the session


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(key: bytes, signed: str) -> bytes:
    return hmac.new(key, signed.encode("ascii"), hashlib.sha256).digest()


def issue_session(
    key: bytes,
    crm_user_id: str,
    connection_id: str | None,
    ttl: timedelta,
    now: datetime,
    *,
    stage: SessionStage = SessionStage.SETTINGS,
    generation: int = 0,
) -> str:
    """Return a signed cookie value for the user (and connection), valid for ttl from now."""
    key = check_key(key, "session key")
    if not crm_user_id:
        raise ValueError("crm_user_id must be a non-empty string")
    if ttl <= timedelta(0):
        raise ValueError(f"ttl must be positive, got {ttl}")
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware (use datetime.now(UTC))")
    payload = {
        "sub": crm_user_id,
        "cid": connection_id,
        "iat": int(now.timestamp()),
        "exp": int((now + ttl).timestamp()),
        "csrf": secrets.token_urlsafe(32),
        "stg": SessionStage(stage).value,
        "gen": int(generation),
    }
    signed = PREFIX + _b64(json.dumps(payload, separators=(",", ":")).encode("utf-8"))
    return f"{signed}.{_b64(_mac(key, signed))}"


def read_session(value: str | None, key: bytes, now: datetime) -> Session | None:
    """Return the session if the value is authentic and unexpired, else None."""
    key = check_key(key, "session key")
    if not value or len(value) > MAX_COOKIE_CHARS or not value.startswith(PREFIX):
        return None
    signed, _, mac = value.rpartition(".")
    try:
        if not hmac.compare_digest(_unb64(mac), _mac(key, signed)):
            return None
        payload = json.loads(_unb64(signed[len(PREFIX) :]))
        sub, cid, csrf = payload["sub"], payload["cid"], payload["csrf"]
        issued_at = datetime.fromtimestamp(payload["iat"], UTC)
        expires_at = datetime.fromtimestamp(payload["exp"], UTC)
        stage, generation = SessionStage(payload["stg"]), payload["gen"]
    except (ValueError, KeyError, TypeError, OverflowError, OSError, UnicodeEncodeError, AttributeError):
        return None
    if not isinstance(sub, str) or not isinstance(csrf, str) or not (cid is None or isinstance(cid, str)):
        return None
    if isinstance(generation, bool) or not isinstance(generation, int):
        return None
    if expires_at <= now:
        return None
    return Session(
        crm_user_id=sub,
        connection_id=cid,
        issued_at=issued_at,
        expires_at=expires_at,
        csrf_secret=csrf,
        stage=stage,
        generation=generation,
    )


def csrf_token(session: Session) -> str:
    """Return the CSRF token a page embeds for this session (stable for the session's life)."""
    return _b64(hmac.new(session.csrf_secret.encode("ascii"), b"crmsync-csrf", hashlib.sha256).digest())


def check_csrf(session: Session, token: str | None) -> bool:
    """True if token is this session's CSRF token (constant-time compare)."""
    if not token:
        return False
    return hmac.compare_digest(csrf_token(session).encode("ascii"), token.encode("utf-8", "replace"))
