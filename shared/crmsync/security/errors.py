"""Errors of the security building blocks, and the shared key check."""

from __future__ import annotations

MIN_KEY_BYTES = 32


class SecurityError(Exception):
    """Base of every security check failure."""


class KeyTooShort(SecurityError, ValueError):
    """A signing key is shorter than 32 bytes."""


def check_key(key: bytes, what: str) -> bytes:
    """Return the key if it is bytes of at least 32 bytes, else raise KeyTooShort (never echoing the key)."""
    if not isinstance(key, bytes | bytearray):
        raise KeyTooShort(f"{what} must be bytes, got {type(key).__name__}")
    if len(key) < MIN_KEY_BYTES:
        raise KeyTooShort(
            f"{what} is {len(key)} bytes; use at least {MIN_KEY_BYTES} random bytes "
            "(e.g. python -c 'import secrets; print(secrets.token_urlsafe(48))')"
        )
    return bytes(key)
