"""Envelope blobs and checksums, with in-memory data keys."""

from __future__ import annotations

import pytest
from google.cloud import secretmanager

from crmsync.vault import EnvelopeVault, InMemoryCiphertextStore, InMemoryDataKeys, VaultError, VaultUnavailable
from crmsync.vault.crc32c import crc32c
from crmsync.vault.envelope import blob_key_version
from crmsync.vault.secret_manager import payload_of

pytestmark = pytest.mark.unit

TOKEN = "1//0gUnitToken-abcdefghijklmnopqrstuvwxyz"


def test_crc32c_known_vectors() -> None:
    assert crc32c(b"") == 0
    assert crc32c(b"123456789") == 0xE3069283
    assert crc32c(b"\x00" * 32) == 0x8A9136AA


def test_payload_checksum_mismatch_is_transient() -> None:
    good = secretmanager.AccessSecretVersionResponse(payload={"data": b"abc", "data_crc32c": crc32c(b"abc")})
    assert payload_of(good, "x") == b"abc"
    bad = secretmanager.AccessSecretVersionResponse(payload={"data": b"abc", "data_crc32c": crc32c(b"abd")})
    with pytest.raises(VaultUnavailable, match="checksum"):
        payload_of(bad, "x")


def test_blob_layout_and_fresh_nonce_per_write() -> None:
    blobs = InMemoryCiphertextStore()
    keys = InMemoryDataKeys()
    vault = EnvelopeVault(blobs, keys)
    vault.put("a", TOKEN)
    first = blobs.blobs["a"]
    assert first[:2] == b"v1"
    assert blob_key_version(first, "a") == "1"
    assert TOKEN.encode() not in first
    vault.put("a", TOKEN + "x")
    vault.put("a", TOKEN)
    assert blobs.blobs["a"] != first  # new nonce each encryption


def test_unchanged_put_does_not_rewrite_the_blob() -> None:
    blobs = InMemoryCiphertextStore()
    vault = EnvelopeVault(blobs, InMemoryDataKeys())
    vault.put("a", TOKEN)
    before = blobs.blobs["a"]
    vault.put("a", TOKEN)
    assert blobs.blobs["a"] is before


@pytest.mark.parametrize("blob", [b"", b"v2xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", b"v1\x05ab"])
def test_garbage_blob_is_a_clear_error(blob: bytes) -> None:
    blobs = InMemoryCiphertextStore()
    blobs.put_blob("a", blob)
    with pytest.raises(VaultError, match="connection a"):
        EnvelopeVault(blobs, InMemoryDataKeys()).get("a")


def test_blob_under_unknown_key_version() -> None:
    blobs = InMemoryCiphertextStore()
    keys = InMemoryDataKeys()
    keys.rotate()
    EnvelopeVault(blobs, keys).put("a", TOKEN)
    with pytest.raises(VaultError, match="version '2' does not exist"):
        EnvelopeVault(blobs, InMemoryDataKeys()).get("a")
