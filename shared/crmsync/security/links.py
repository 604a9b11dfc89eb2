"""Signed connect links: HS256 JWTs minted by the CRM, verified once by the web function."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import jwt

from crmsync.obs.logging import redact
from crmsync.security.errors import SecurityError, check_key

AUDIENCE = "crmsync-connect"
ALGORITHM = "HS256"
LEEWAY = timedelta(seconds=5)
_REQUIRED = ("sub", "exp", "iat", "nonce", "aud")


class LinkError(SecurityError):
    """The connect link cannot be used."""


class LinkInvalid(LinkError):
    """Tampered, garbled, signed with another key or meant for another audience."""


class LinkExpired(LinkError):
    """The link's expiry has passed."""


class LinkReplayed(LinkError):
    """The link's nonce was already used."""


@dataclass(frozen=True)
class ConnectClaims:
    """What a verified connect link says."""

    crm_user_id: str
    issued_at: datetime
    expires_at: datetime
    nonce: str


class NonceStore(Protocol):
    """Remembers used nonces until they expire."""

    def consume(self, nonce: str, expires_at: datetime) -> bool:
        """Record the nonce; True the first time, False if it was already consumed."""
        ...


class InMemoryNonceStore:
    """A process-local NonceStore (tests and the local stack); forgets nonces after their expiry."""

    def __init__(self, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._seen: dict[str, datetime] = {}
        self._clock = clock
        self._lock = threading.Lock()

    def consume(self, nonce: str, expires_at: datetime) -> bool:
        """Record the nonce; True the first time, False if it was already consumed."""
        with self._lock:
            # A nonce past its expiry belongs to a link that can no longer verify: forgetting it is safe.
            now = self._clock()
            for old in [n for n, exp in self._seen.items() if exp < now]:
                del self._seen[old]
            if nonce in self._seen:
                return False
            self._seen[nonce] = _utc(expires_at)
            return True


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("datetimes must be timezone-aware (use datetime.now(UTC))")
    return moment.astimezone(UTC)


def mint_connect_token(key: bytes, crm_user_id: str, ttl: timedelta, now: datetime) -> str:
    """Return a signed connect token for one CRM user, valid for ttl from now."""
    key = check_key(key, "connect link key")
    if not crm_user_id or not isinstance(crm_user_id, str):
        raise ValueError("crm_user_id must be a non-empty string")
    if ttl <= timedelta(0):
        raise ValueError(f"ttl must be positive, got {ttl}")
    issued = _utc(now)
    claims: dict[str, Any] = {
        "sub": crm_user_id,
        "aud": AUDIENCE,
        "iat": int(issued.timestamp()),
        "exp": int((issued + ttl).timestamp()),
        "nonce": secrets.token_urlsafe(16),
    }
    token = jwt.encode(claims, key, algorithm=ALGORITHM)
    redact.register(token)
    return token


def verify_connect_token(token: str, key: bytes, now: datetime, nonces: NonceStore) -> ConnectClaims:
    """Verify signature, audience, times and single use; return the claims or raise a LinkError."""
    key = check_key(key, "connect link key")
    if not isinstance(token, str) or not token or len(token) > 4096:
        raise LinkInvalid("connect link token is missing or malformed")
    redact.register(token)
    try:
        # Times are checked below against `now`, which PyJWT cannot take.
        claims = jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
            options={"require": list(_REQUIRED), "verify_exp": False, "verify_iat": False, "verify_nbf": False},
        )
    except jwt.InvalidAudienceError as err:
        raise LinkInvalid("connect link is not meant for crmsync-connect") from err
    except jwt.InvalidSignatureError as err:
        raise LinkInvalid("connect link signature does not match (tampered, or signed with another key)") from err
    except jwt.MissingRequiredClaimError as err:
        raise LinkInvalid(f"connect link lacks the {err.claim!r} claim") from err
    except jwt.PyJWTError as err:
        raise LinkInvalid(f"connect link is malformed ({type(err).__name__})") from err
    sub, nonce, iat, exp = claims["sub"], claims["nonce"], claims["iat"], claims["exp"]
    if not (isinstance(sub, str) and sub and isinstance(nonce, str) and nonce):
        raise LinkInvalid("connect link has an empty or non-string sub or nonce")
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in (iat, exp)):
        raise LinkInvalid("connect link iat/exp must be numeric timestamps")
    now = _utc(now)
    issued_at, expires_at = datetime.fromtimestamp(iat, UTC), datetime.fromtimestamp(exp, UTC)
    if issued_at > now + LEEWAY:
        raise LinkInvalid("connect link was issued in the future; check the CRM server's clock")
    if expires_at + LEEWAY <= now:
        raise LinkExpired("connect link has expired; open Connect Google from the CRM again")
    if not nonces.consume(nonce, expires_at + LEEWAY):
        raise LinkReplayed("connect link was already used; open Connect Google from the CRM again")
    return ConnectClaims(crm_user_id=sub, issued_at=issued_at, expires_at=expires_at, nonce=nonce)
