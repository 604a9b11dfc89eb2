"""Envelope-mode token vault: AES-GCM ciphertext on the connection document, data keys in Secret Manager.

For large deployments: Secret Manager bills every active secret version monthly and allows
600 writes/min per project, while one data key serves every connection.

Blob format: b"v1" | 1-byte length n | n bytes key version (ASCII) | 12-byte nonce | ciphertext+tag,
encrypted with AAD = connection id, so a blob copied onto another connection does not decrypt.

Rotation: `SecretManagerDataKeys.rotate()` adds a key version; new puts use it, a put of an
unchanged token still re-encrypts a blob written under an older key, and `reencrypt(ids)` moves
all of them at once. Old key versions must stay enabled until no blob uses them.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from crmsync.obs.logging import redact
from crmsync.vault.data_keys import DataKeyProvider, ForgetsKeys
from crmsync.vault.port import TokenNotFound, VaultError, check_connection_id, check_token

MAGIC = b"v1"
NONCE_BYTES = 12


class CiphertextStore(Protocol):
    """Where the encrypted token blob of each connection lives (the Firestore connection document)."""

    def get_blob(self, connection_id: str) -> bytes | None:
        """Return the stored blob or None."""
        ...

    def put_blob(self, connection_id: str, blob: bytes) -> None:
        """Store (replace) the blob."""
        ...

    def delete_blob(self, connection_id: str) -> None:
        """Remove the blob; missing is fine."""
        ...


class InMemoryCiphertextStore:
    """A dict-backed CiphertextStore for tests and the local stack."""

    def __init__(self) -> None:
        self.blobs: dict[str, bytes] = {}
        self._lock = threading.Lock()

    def get_blob(self, connection_id: str) -> bytes | None:
        """Return the stored blob or None."""
        with self._lock:
            return self.blobs.get(connection_id)

    def put_blob(self, connection_id: str, blob: bytes) -> None:
        """Store (replace) the blob."""
        with self._lock:
            self.blobs[connection_id] = bytes(blob)

    def delete_blob(self, connection_id: str) -> None:
        """Remove the blob; missing is fine."""
        with self._lock:
            self.blobs.pop(connection_id, None)


def seal(key_version: str, key: bytes, connection_id: str, plaintext: bytes) -> bytes:
    """Encrypt plaintext for one connection into a v1 blob."""
    version = key_version.encode("ascii")
    if not 0 < len(version) < 256:
        raise VaultError(f"data key version {key_version!r} must be 1-255 ASCII characters")
    nonce = os.urandom(NONCE_BYTES)
    sealed = AESGCM(key).encrypt(nonce, plaintext, connection_id.encode("utf-8"))
    return MAGIC + bytes([len(version)]) + version + nonce + sealed


def blob_key_version(blob: bytes, connection_id: str) -> str:
    """Return the data key version a v1 blob was written under."""
    if len(blob) < 4 or blob[:2] != MAGIC:
        raise VaultError(f"token blob of connection {connection_id} is not a v1 envelope blob")
    size = blob[2]
    if size == 0 or len(blob) < 3 + size + NONCE_BYTES + 16:
        raise VaultError(f"token blob of connection {connection_id} is truncated")
    return blob[3 : 3 + size].decode("ascii", "replace")


def open_blob(blob: bytes, keys: DataKeyProvider, connection_id: str) -> bytes:
    """Decrypt a v1 blob, checking it belongs to this connection."""
    version = blob_key_version(blob, connection_id)
    start = 3 + blob[2]
    nonce, sealed = blob[start : start + NONCE_BYTES], blob[start + NONCE_BYTES :]
    aad = connection_id.encode("utf-8")
    try:
        return AESGCM(keys.by_version(version)).decrypt(nonce, sealed, aad)
    except InvalidTag:
        pass
    if isinstance(keys, ForgetsKeys):  # a cached key may be stale: read that version again, once
        keys.forget(version)
        try:
            return AESGCM(keys.by_version(version)).decrypt(nonce, sealed, aad)
        except InvalidTag:
            pass
    raise VaultError(
        f"token blob of connection {connection_id} failed authentication: tampered, copied from "
        "another connection, or encrypted with a different data key"
    )


class EnvelopeVault:
    """TokenVault that stores AES-GCM blobs in a CiphertextStore under versioned data keys."""

    def __init__(self, blobs: CiphertextStore, keys: DataKeyProvider) -> None:
        self._blobs = blobs
        self._keys = keys

    def put(self, connection_id: str, refresh_token: str) -> None:
        """Encrypt and store; skip the write if the same token is already stored under the current key."""
        check_connection_id(connection_id)
        data = check_token(refresh_token)
        version, key = self._keys.current()
        old = self._blobs.get_blob(connection_id)
        if old is not None and blob_key_version(old, connection_id) == version:
            try:
                if open_blob(old, self._keys, connection_id) == data:
                    return
            except VaultError:
                pass  # unreadable old blob: overwrite it
        self._blobs.put_blob(connection_id, seal(version, key, connection_id, data))

    def get(self, connection_id: str) -> str:
        """Return the decrypted token or raise TokenNotFound."""
        check_connection_id(connection_id)
        blob = self._blobs.get_blob(connection_id)
        if blob is None:
            raise TokenNotFound(f"no token stored for connection {connection_id}")
        token = open_blob(blob, self._keys, connection_id).decode("utf-8")
        redact.register(token)
        return token

    def delete(self, connection_id: str) -> None:
        """Remove the blob; missing is fine."""
        self._blobs.delete_blob(check_connection_id(connection_id))

    def reencrypt(self, connection_ids: Iterable[str]) -> int:
        """Re-encrypt every listed blob not under the current key; return how many were rewritten."""
        version, key = self._keys.current()
        rewritten = 0
        for connection_id in connection_ids:
            check_connection_id(connection_id)
            blob = self._blobs.get_blob(connection_id)
            if blob is None or blob_key_version(blob, connection_id) == version:
                continue
            plaintext = open_blob(blob, self._keys, connection_id)
            self._blobs.put_blob(connection_id, seal(version, key, connection_id, plaintext))
            rewritten += 1
        return rewritten

    def key_version_of(self, connection_id: str) -> str | None:
        """Return the data key version the connection's blob uses (None if no blob)."""
        blob = self._blobs.get_blob(check_connection_id(connection_id))
        return None if blob is None else blob_key_version(blob, connection_id)
