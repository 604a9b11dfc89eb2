"""Signed links the CRM mints (HS256 JWTs): connect links and settings links, each verified once.

A connect link (``purpose: "connect"``) starts joining a Google account to the CRM user; a settings
link (``purpose: "settings"``) opens the settings page of a user who is already connected. Both
carry the same claims and follow the same rules (docs/connect-links.md); neither works as the other.
"""

from __future__ import annotations

import math
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol

import jwt

from crmsync.security.errors import SecurityError, check_key

AUDIENCE = "crmsync-connect"
ALGORITHM = "HS256"
LEEWAY = timedelta(seconds=5)
MAX_LIFETIME = timedelta(minutes=15)  # exp - iat; a longer-lived link is refused whoever signed it
MAX_TOKEN_CHARS = 4096
MAX_ID_CHARS = 256  # sub and nonce
# NumericDate bounds: 2001-09-09 .. 2286-11-20. Anything outside is not a real link time.
_MIN_TIME, _MAX_TIME = 1_000_000_000, 9_999_999_999
_REQUIRED = ("sub", "exp", "iat", "nonce", "aud", "purpose")


class LinkPurpose(StrEnum):
    CONNECT = "connect"  # join a Google account (Google consent follows)
    SETTINGS = "settings"  # open the settings page of a connected user (no consent)


class LinkError(SecurityError):
    """The link cannot be used."""


class LinkInvalid(LinkError):
    """Tampered, garbled, signed with another key, meant for another audience or purpose, or odd claims."""


class LinkExpired(LinkError):
    """The link's expiry has passed."""


class LinkReplayed(LinkError):
    """The link's nonce was already used."""


@dataclass(frozen=True)
class ConnectClaims:
    """What a verified link says."""

    crm_user_id: str
    issued_at: datetime
    expires_at: datetime
    nonce: str
    purpose: LinkPurpose = LinkPurpose.CONNECT


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


def mint_link_token(key: bytes, crm_user_id: str, purpose: LinkPurpose, ttl: timedelta, now: datetime) -> str:
    """Return a signed link token for one CRM user and purpose, valid for ttl (at most 15 minutes) from now."""
    key = check_key(key, "link key")
    if not crm_user_id or not isinstance(crm_user_id, str) or len(crm_user_id) > MAX_ID_CHARS:
        raise ValueError(f"crm_user_id must be a non-empty string of at most {MAX_ID_CHARS} characters")
    if ttl <= timedelta(0) or ttl > MAX_LIFETIME:
        raise ValueError(f"ttl must be positive and at most {MAX_LIFETIME}, got {ttl}")
    issued = _utc(now)
    claims: dict[str, Any] = {
        "sub": crm_user_id,
        "aud": AUDIENCE,
        "purpose": LinkPurpose(purpose).value,
        "iat": int(issued.timestamp()),
        "exp": int((issued + ttl).timestamp()),
        "nonce": secrets.token_urlsafe(16),
    }
    return jwt.encode(claims, key, algorithm=ALGORITHM)


def mint_connect_token(key: bytes, crm_user_id: str, ttl: timedelta, now: datetime) -> str:
    """Return a signed connect link token for one CRM user."""
    return mint_link_token(key, crm_user_id, LinkPurpose.CONNECT, ttl, now)


def mint_settings_token(key: bytes, crm_user_id: str, ttl: timedelta, now: datetime) -> str:
    """Return a signed settings link token for one (connected) CRM user."""
    return mint_link_token(key, crm_user_id, LinkPurpose.SETTINGS, ttl, now)


def verify_link_token(token: str, key: bytes, now: datetime, nonces: NonceStore, purpose: LinkPurpose) -> ConnectClaims:
    """Verify signature, audience, purpose, claim types, lifetime, times and single use; else raise a LinkError."""
    key = check_key(key, "link key")
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_CHARS:
        raise LinkInvalid("the link token is missing or malformed")
    claims = _decode(token, key)
    sub, nonce, iat, exp, said = (claims[k] for k in ("sub", "nonce", "iat", "exp", "purpose"))
    if said != purpose.value:
        raise LinkInvalid(_wrong(purpose))
    if not (_short_text(sub) and _short_text(nonce)):
        raise LinkInvalid(f"the link's sub and nonce must be non-empty strings of at most {MAX_ID_CHARS} characters")
    if not (_numeric_date(iat) and _numeric_date(exp)):
        raise LinkInvalid("the link's iat and exp must be numeric timestamps in seconds (NumericDate)")
    issued_at, expires_at = datetime.fromtimestamp(iat, UTC), datetime.fromtimestamp(exp, UTC)
    if expires_at <= issued_at:
        raise LinkInvalid("the link expires before it was issued (exp must be after iat)")
    if expires_at - issued_at > MAX_LIFETIME:
        raise LinkInvalid(
            f"the link is valid for {expires_at - issued_at}, longer than the {MAX_LIFETIME} crmsync accepts; "
            "mint links when the user clicks, with exp at most 15 minutes after iat"
        )
    now = _utc(now)
    if issued_at > now + LEEWAY:
        raise LinkInvalid("the link was issued in the future; check the CRM server's clock")
    if expires_at + LEEWAY <= now:
        raise LinkExpired("the link has expired; open it from the CRM again")
    if not nonces.consume(nonce, expires_at + LEEWAY):
        raise LinkReplayed("the link was already used; open it from the CRM again")
    return ConnectClaims(crm_user_id=sub, issued_at=issued_at, expires_at=expires_at, nonce=nonce, purpose=purpose)


def verify_connect_token(token: str, key: bytes, now: datetime, nonces: NonceStore) -> ConnectClaims:
    """Verify a connect link (see verify_link_token)."""
    return verify_link_token(token, key, now, nonces, LinkPurpose.CONNECT)


def verify_settings_token(token: str, key: bytes, now: datetime, nonces: NonceStore) -> ConnectClaims:
    """Verify a settings link (see verify_link_token)."""
    return verify_link_token(token, key, now, nonces, LinkPurpose.SETTINGS)


def _decode(token: str, key: bytes) -> dict[str, Any]:
    try:
        # Times are checked by the caller against `now`, which PyJWT cannot take, and with type checks of our own.
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
            options={"require": list(_REQUIRED), "verify_exp": False, "verify_iat": False, "verify_nbf": False},
        )
    except jwt.InvalidAudienceError as err:
        raise LinkInvalid("the link is not meant for crmsync-connect (aud)") from err
    except jwt.InvalidSignatureError as err:
        raise LinkInvalid("the link signature does not match (tampered, or signed with another key)") from err
    except jwt.MissingRequiredClaimError as err:
        raise LinkInvalid(f"the link lacks the {err.claim!r} claim") from err
    except jwt.PyJWTError as err:
        raise LinkInvalid(f"the link is malformed ({type(err).__name__})") from err
    except (ValueError, TypeError, OverflowError, RecursionError) as err:  # odd JSON inside a valid signature
        raise LinkInvalid(f"the link is malformed ({type(err).__name__})") from err
    if not isinstance(claims, dict):
        raise LinkInvalid("the link's payload is not a JSON object")
    return claims


def _wrong(expected: LinkPurpose) -> str:
    if expected is LinkPurpose.CONNECT:
        return "this link is not a connect link (purpose must be 'connect'); use Connect Google in the CRM"
    return "this link is not a settings link (purpose must be 'settings'); open the settings from the CRM again"


def _short_text(value: Any) -> bool:
    return isinstance(value, str) and 0 < len(value) <= MAX_ID_CHARS


def _numeric_date(value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    if isinstance(value, float) and not math.isfinite(value):
        return False
    return _MIN_TIME <= value <= _MAX_TIME  # int/float comparison never overflows
