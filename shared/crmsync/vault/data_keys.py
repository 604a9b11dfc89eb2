"""Data keys for envelope encryption: 32-byte AES keys kept as versions of one Secret Manager secret.

Key format (docs/deploy.md step 4): each version holds the key as base64 text, 44 characters
(standard or URL-safe alphabet; surrounding whitespace such as a trailing newline is ignored).
Versions holding the 32 raw bytes, as older releases wrote them, are read too.
"""

from __future__ import annotations

import base64
import binascii
import os
import threading
import time
from collections.abc import Callable
from typing import Protocol, runtime_checkable

from google.api_core import exceptions as gexc
from google.cloud import secretmanager

from crmsync.vault.crc32c import crc32c
from crmsync.vault.port import VaultError
from crmsync.vault.secret_manager import CALL_ERRORS, LABELS, payload_of, vault_error

KEY_BYTES = 32


class DataKeyProvider(Protocol):
    """Gives the current data key for encrypting and any older version for decrypting."""

    def current(self) -> tuple[str, bytes]:
        """Return (version id, key) of the key to encrypt with."""
        ...

    def by_version(self, version_id: str) -> bytes:
        """Return the key of one version (to decrypt blobs written under it)."""
        ...


@runtime_checkable
class ForgetsKeys(Protocol):
    """A DataKeyProvider that caches keys and can drop one (so it is read again)."""

    def forget(self, version_id: str) -> None: ...


def encode_key(key: bytes) -> bytes:
    """A data key as it is stored in a secret version (URL-safe base64 text)."""
    return base64.urlsafe_b64encode(_check_key(key, "to store"))


def decode_key(payload: bytes, where: str) -> bytes:
    """The 32-byte AES key in a secret version: base64 text (the documented format) or, from older releases, raw."""
    text = payload.strip()
    if len(payload) != KEY_BYTES:
        try:
            return _check_key(base64.b64decode(text.replace(b"-", b"+").replace(b"_", b"/"), validate=True), where)
        except (binascii.Error, ValueError):
            raise VaultError(
                f"data key {where} must be base64 text of exactly {KEY_BYTES} random bytes "
                "(python3 -c 'import base64, os; print(base64.urlsafe_b64encode(os.urandom(32)).decode())')"
            ) from None
    return payload


def _check_key(key: bytes, where: str) -> bytes:
    if len(key) != KEY_BYTES:
        raise VaultError(f"data key {where} is {len(key)} bytes; AES-256-GCM needs exactly {KEY_BYTES}")
    return key


class InMemoryDataKeys:
    """Data keys held in memory (unit tests and the local stack)."""

    def __init__(self) -> None:
        self._keys: dict[str, bytes] = {}
        self.rotate()

    def current(self) -> tuple[str, bytes]:
        """Return the newest (version id, key)."""
        version = str(len(self._keys))
        return version, self._keys[version]

    def by_version(self, version_id: str) -> bytes:
        """Return the key of one version or raise VaultError."""
        try:
            return self._keys[version_id]
        except KeyError:
            raise VaultError(f"data key version {version_id!r} does not exist") from None

    def rotate(self) -> str:
        """Add a new random key version and return its id."""
        version = str(len(self._keys) + 1)
        self._keys[version] = os.urandom(KEY_BYTES)
        return version


class SecretManagerDataKeys:
    """Data keys as versions of one secret (`<name>-data-key`, CRMSYNC_DATA_KEY_SECRET); cached per warm instance.

    A warm instance reads Secret Manager about once per TTL, not once per run: `current` is re-read after
    `current_ttl_seconds` (a rotation done elsewhere is picked up by warm instances), and each version's
    key after `version_ttl_seconds` (bounded: a version the operator disabled or destroyed stops
    decrypting on every instance within that time). `forget(version)` drops one version so the next
    use reads it again (the vault does this when a blob fails to decrypt under the cached key).
    Keep old versions ENABLED until `EnvelopeVault.reencrypt` has moved every blob off them.
    """

    def __init__(
        self,
        client: secretmanager.SecretManagerServiceClient,
        project: str,
        secret_id: str,
        *,
        current_ttl_seconds: float = 300.0,
        version_ttl_seconds: float = 3600.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._name = f"projects/{project}/secrets/{secret_id}"
        self._ttl = current_ttl_seconds
        self._version_ttl = version_ttl_seconds
        self._clock = clock
        self._keys: dict[str, bytes] = {}
        self._read_at: dict[str, float] = {}  # when each cached version was read
        self._current: tuple[float, str] | None = None
        self._lock = threading.Lock()

    @property
    def secret_name(self) -> str:
        """Return the full resource name of the data-key secret."""
        return self._name

    def current(self) -> tuple[str, bytes]:
        """Return (version id, key) of the latest enabled data key."""
        with self._lock:
            if self._current is not None and self._current[0] > self._clock() and self._current[1] in self._keys:
                version = self._current[1]
                return version, self._keys[version]
        version, key = self._access("latest")
        with self._lock:
            self._remember(version, key)
            self._current = (self._clock() + self._ttl, version)
        return version, key

    def by_version(self, version_id: str) -> bytes:
        """Return the key of one version (cached for ``version_ttl_seconds``)."""
        if not version_id.isdigit():
            raise VaultError(f"data key version {version_id!r} is not a Secret Manager version number")
        with self._lock:
            if version_id in self._keys and self._read_at[version_id] + self._version_ttl > self._clock():
                return self._keys[version_id]
        version, key = self._access(version_id)
        with self._lock:
            self._remember(version, key)
        return key

    def forget(self, version_id: str) -> None:
        """Drop one cached version: its next use reads Secret Manager again."""
        with self._lock:
            self._keys.pop(version_id, None)
            self._read_at.pop(version_id, None)

    def _remember(self, version: str, key: bytes) -> None:
        self._keys[version] = key
        self._read_at[version] = self._clock()

    def rotate(self) -> str:
        """Add a new random data-key version (creating the secret on first use); return its version id."""
        try:
            self._client.create_secret(
                request={
                    "parent": self._name.split("/secrets/")[0],
                    "secret_id": self._name.rsplit("/", 1)[-1],
                    "secret": {"replication": {"automatic": {}}, "labels": LABELS},
                }
            )
        except gexc.Conflict:
            pass  # exists already (gRPC AlreadyExists or REST 409)
        except CALL_ERRORS as err:
            raise vault_error(err, f"creating {self._name}") from err
        key = os.urandom(KEY_BYTES)
        data = encode_key(key)
        try:
            added = self._client.add_secret_version(
                request={"parent": self._name, "payload": {"data": data, "data_crc32c": crc32c(data)}}
            )
        except CALL_ERRORS as err:
            raise vault_error(err, f"adding a data key version to {self._name}") from err
        version = added.name.rsplit("/", 1)[-1]
        with self._lock:
            self._remember(version, key)
            self._current = (self._clock() + self._ttl, version)
        return version

    def _access(self, version: str) -> tuple[str, bytes]:
        what = f"reading data key {self._name}/versions/{version}"
        try:
            response = self._client.access_secret_version(name=f"{self._name}/versions/{version}")
        except (gexc.NotFound, gexc.FailedPrecondition) as err:
            raise VaultError(
                f"{what}: not found or not enabled; create the first key with SecretManagerDataKeys.rotate() "
                "and keep old versions enabled while blobs still use them"
            ) from err
        except CALL_ERRORS as err:
            raise vault_error(err, what) from err
        return response.name.rsplit("/", 1)[-1], decode_key(payload_of(response, what), what)
