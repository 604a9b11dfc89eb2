"""Token vault for the local stack: one JSON file of AES-GCM-encrypted tokens plus a 0600 key file."""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from crmsync.obs.logging import redact
from crmsync.vault.port import TokenNotFound, VaultError, check_connection_id, check_token

KEY_BYTES = 32
NONCE_BYTES = 12
FORMAT = "crmsync-local-vault-v1"


class LocalFileVault:
    """Tokens in `path` (JSON), key in `<path>.key` (mode 0600), `<path>.lock` serialises processes."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.key_path = self.path.with_name(self.path.name + ".key")
        self.lock_path = self.path.with_name(self.path.name + ".lock")
        if not self.path.parent.is_dir():
            raise VaultError(f"local vault directory {self.path.parent} does not exist; create it first")
        with self._locked(exclusive=True):
            self._key = self._load_or_create_key()
        self._aead = AESGCM(self._key)

    def put(self, connection_id: str, refresh_token: str) -> None:
        """Encrypt and store the token; no write if it is unchanged."""
        check_connection_id(connection_id)
        data = check_token(refresh_token)
        with self._locked(exclusive=True):
            tokens = self._read()
            old = tokens.get(connection_id)
            if old is not None and self._open(connection_id, old) == data:
                return
            nonce = os.urandom(NONCE_BYTES)
            sealed = nonce + self._aead.encrypt(nonce, data, connection_id.encode("utf-8"))
            tokens[connection_id] = base64.b64encode(sealed).decode("ascii")
            self._write(tokens)

    def get(self, connection_id: str) -> str:
        """Return the decrypted token or raise TokenNotFound."""
        check_connection_id(connection_id)
        with self._locked(exclusive=False):
            sealed = self._read().get(connection_id)
        if sealed is None:
            raise TokenNotFound(f"no token stored for connection {connection_id} in {self.path}")
        token = self._open(connection_id, sealed).decode("utf-8")
        redact.register(token)
        return token

    def delete(self, connection_id: str) -> None:
        """Remove the token; missing is fine."""
        check_connection_id(connection_id)
        with self._locked(exclusive=True):
            tokens = self._read()
            if tokens.pop(connection_id, None) is not None:
                self._write(tokens)

    def _open(self, connection_id: str, sealed_b64: str) -> bytes:
        try:
            sealed = base64.b64decode(sealed_b64, validate=True)
            return self._aead.decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], connection_id.encode("utf-8"))
        except (InvalidTag, ValueError):
            raise VaultError(
                f"token of connection {connection_id} in {self.path} does not decrypt with {self.key_path}: "
                "the file was edited or the key file replaced"
            ) from None

    @contextlib.contextmanager
    def _locked(self, *, exclusive: bool) -> Iterator[None]:
        # A separate lock file: the data file itself is replaced on every write.
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
            yield
        finally:
            os.close(fd)  # closing releases the lock

    def _load_or_create_key(self) -> bytes:
        try:
            fd = os.open(self.key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return self._load_key()
        key = AESGCM.generate_key(bit_length=KEY_BYTES * 8)
        with os.fdopen(fd, "wb") as out:
            out.write(base64.b64encode(key) + b"\n")
        return key

    def _load_key(self) -> bytes:
        mode = stat.S_IMODE(os.stat(self.key_path).st_mode)
        if mode & 0o077:
            raise VaultError(
                f"key file {self.key_path} has mode {mode:04o} and is readable by group or others; "
                f"run: chmod 600 {self.key_path}"
            )
        try:
            key = base64.b64decode(self.key_path.read_bytes().strip(), validate=True)
        except ValueError:
            key = b""
        if len(key) != KEY_BYTES:
            raise VaultError(f"key file {self.key_path} does not hold a base64 {KEY_BYTES}-byte key")
        return key

    def _read(self) -> dict[str, str]:
        try:
            raw = self.path.read_text("utf-8")
        except FileNotFoundError:
            return {}
        try:
            doc = json.loads(raw)
            tokens = doc["tokens"] if doc.get("format") == FORMAT else None
        except (ValueError, AttributeError, KeyError):
            tokens = None
        if not isinstance(tokens, dict):
            raise VaultError(f"{self.path} is not a crmsync local vault file ({FORMAT}); move it away or delete it")
        return {str(k): str(v) for k, v in tokens.items()}

    def _write(self, tokens: dict[str, str]) -> None:
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=self.path.name + ".", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump({"format": FORMAT, "tokens": tokens}, out, indent=1, sort_keys=True)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
