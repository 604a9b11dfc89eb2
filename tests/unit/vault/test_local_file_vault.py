"""Local file vault: key file permissions, file format, cross-process locking."""

from __future__ import annotations

import json
import multiprocessing
import os
import stat
from pathlib import Path

import pytest

from crmsync.vault import LocalFileVault, TokenNotFound, VaultError

pytestmark = pytest.mark.unit

TOKEN = "1//0gLocalToken-abcdefghijklmnopqrstuvwxyz0123456789"


def test_key_file_is_created_with_mode_0600(tmp_path: Path) -> None:
    old = os.umask(0o000)  # even a permissive umask must not widen the key file
    try:
        vault = LocalFileVault(tmp_path / "tokens.json")
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(vault.key_path).st_mode) == 0o600
    assert vault.key_path == tmp_path / "tokens.json.key"


def test_key_file_readable_by_others_is_refused(tmp_path: Path) -> None:
    vault = LocalFileVault(tmp_path / "tokens.json")
    os.chmod(vault.key_path, 0o644)
    with pytest.raises(VaultError, match=r"mode 0644.*chmod 600"):
        LocalFileVault(tmp_path / "tokens.json")


def test_tokens_are_not_stored_in_clear(tmp_path: Path) -> None:
    vault = LocalFileVault(tmp_path / "tokens.json")
    vault.put("conn-1", TOKEN)
    raw = (tmp_path / "tokens.json").read_text()
    assert TOKEN not in raw
    assert set(json.loads(raw)["tokens"]) == {"conn-1"}
    assert stat.S_IMODE(os.stat(tmp_path / "tokens.json").st_mode) & 0o077 == 0


def test_replaced_key_file_gives_a_clear_error(tmp_path: Path) -> None:
    LocalFileVault(tmp_path / "tokens.json").put("conn-1", TOKEN)
    (tmp_path / "tokens.json.key").unlink()
    with pytest.raises(VaultError, match="does not decrypt"):
        LocalFileVault(tmp_path / "tokens.json").get("conn-1")


def test_foreign_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "tokens.json").write_text('{"hello": 1}')
    vault = LocalFileVault(tmp_path / "tokens.json")
    with pytest.raises(VaultError, match="not a crmsync local vault file"):
        vault.get("conn-1")


def test_garbled_key_file_is_refused(tmp_path: Path) -> None:
    key = tmp_path / "tokens.json.key"
    key.write_text("not base64 at all!")
    os.chmod(key, 0o600)
    with pytest.raises(VaultError, match="32-byte key"):
        LocalFileVault(tmp_path / "tokens.json")


def test_missing_directory_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(VaultError, match="does not exist"):
        LocalFileVault(tmp_path / "nope" / "tokens.json")


def _writer(path: str, worker: int, count: int) -> None:
    vault = LocalFileVault(Path(path))
    for n in range(count):
        vault.put(f"w{worker}-{n}", f"{TOKEN}-{worker}-{n}")


def test_concurrent_processes_lose_no_write(tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_writer, args=(str(path), w, 15)) for w in range(4)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(30)
        assert proc.exitcode == 0
    vault = LocalFileVault(path)
    assert all(vault.get(f"w{w}-{n}") == f"{TOKEN}-{w}-{n}" for w in range(4) for n in range(15))
    with pytest.raises(TokenNotFound):
        vault.get("w9-0")
