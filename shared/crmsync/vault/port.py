"""The token vault port: where each connection's Google refresh token is kept."""

from __future__ import annotations

import re
from typing import Protocol

from crmsync.obs.logging import redact

# Secret Manager secret ids allow [A-Za-z0-9_-]{1,255}; the prefix eats part of that budget.
_CONNECTION_ID = re.compile(r"[A-Za-z0-9_-]{1,200}")
# Secret Manager payloads are at most 64 KiB; refresh tokens are a few hundred bytes.
MAX_TOKEN_BYTES = 64 * 1024 - 1


class VaultError(Exception):
    """A vault operation failed permanently (bad input, permission, corrupt data)."""


class TokenNotFound(VaultError):
    """No token is stored for this connection."""


class VaultUnavailable(VaultError):
    """A transient failure (timeout, 5xx, rate limit): retry later."""


class TokenVault(Protocol):
    """Stores one refresh token per connection."""

    def put(self, connection_id: str, refresh_token: str) -> None:
        """Store the token; writes nothing if the stored token is already this one."""
        ...

    def get(self, connection_id: str) -> str:
        """Return the stored token or raise TokenNotFound."""
        ...

    def delete(self, connection_id: str) -> None:
        """Forget the token; deleting a missing token is not an error."""
        ...


def check_connection_id(connection_id: str) -> str:
    """Return the id if it is a valid URL-safe connection id, else raise VaultError."""
    if not isinstance(connection_id, str) or not _CONNECTION_ID.fullmatch(connection_id):
        shown = repr(connection_id)[:60]
        raise VaultError(f"invalid connection id {shown}: use 1-200 characters from A-Z, a-z, 0-9, '_' and '-'")
    return connection_id


def check_token(refresh_token: str) -> bytes:
    """Return the UTF-8 bytes of a storable token, else raise VaultError (never echoing the token)."""
    if not isinstance(refresh_token, str):
        raise VaultError(f"refresh token must be a str, got {type(refresh_token).__name__}")
    if not refresh_token:
        raise VaultError("refresh token is empty")
    data = refresh_token.encode("utf-8")
    if len(data) > MAX_TOKEN_BYTES:
        raise VaultError(f"refresh token is {len(data)} bytes; the limit is {MAX_TOKEN_BYTES} bytes (under 64 KiB)")
    redact.register(refresh_token)
    return data
