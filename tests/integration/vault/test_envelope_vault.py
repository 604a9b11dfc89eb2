"""Envelope mode with data keys in Secret Manager (drongo): rotation, tampering, copied blobs."""

from __future__ import annotations

import pytest
from google.cloud import secretmanager

from crmsync.vault import EnvelopeVault, InMemoryCiphertextStore, SecretManagerDataKeys, VaultError
from tests.integration.vault.conftest import PROJECT

pytestmark = pytest.mark.integration

TOKEN = "1//0gEnvelopeToken-abcdefghijklmnopqrstuvwxyz0123456789"


def test_rotation_keeps_old_blobs_readable_and_new_puts_use_the_new_key(
    sm_client: secretmanager.SecretManagerServiceClient,
) -> None:
    keys = SecretManagerDataKeys(sm_client, PROJECT, "crmsync-data-key")
    assert keys.rotate() == "1"
    blobs = InMemoryCiphertextStore()
    vault = EnvelopeVault(blobs, keys)
    vault.put("old", TOKEN)
    assert vault.key_version_of("old") == "1"

    assert keys.rotate() == "2"
    fresh = EnvelopeVault(blobs, SecretManagerDataKeys(sm_client, PROJECT, "crmsync-data-key"))  # another warm instance
    assert fresh.get("old") == TOKEN
    fresh.put("new", TOKEN + "-new")
    assert fresh.key_version_of("new") == "2"
    assert fresh.key_version_of("old") == "1"

    # An unchanged put re-encrypts lazily under the current key.
    fresh.put("old", TOKEN)
    assert fresh.key_version_of("old") == "2"
    assert fresh.get("old") == TOKEN


def test_reencrypt_moves_every_blob_to_the_current_key(sm_client: secretmanager.SecretManagerServiceClient) -> None:
    keys = SecretManagerDataKeys(sm_client, PROJECT, "crmsync-data-key")
    keys.rotate()
    vault = EnvelopeVault(InMemoryCiphertextStore(), keys)
    for n in range(3):
        vault.put(f"c{n}", f"{TOKEN}-{n}")
    keys.rotate()
    assert vault.reencrypt(["c0", "c1", "c2", "absent"]) == 3
    assert vault.reencrypt(["c0", "c1", "c2"]) == 0
    assert {vault.key_version_of(f"c{n}") for n in range(3)} == {"2"}
    assert [vault.get(f"c{n}") for n in range(3)] == [f"{TOKEN}-{n}" for n in range(3)]


def test_rotation_elsewhere_is_picked_up_after_the_current_ttl(
    sm_client: secretmanager.SecretManagerServiceClient,
) -> None:
    now = [0.0]
    SecretManagerDataKeys(sm_client, PROJECT, "crmsync-data-key").rotate()
    warm = SecretManagerDataKeys(sm_client, PROJECT, "crmsync-data-key", current_ttl_seconds=300, clock=lambda: now[0])
    assert warm.current()[0] == "1"
    SecretManagerDataKeys(sm_client, PROJECT, "crmsync-data-key").rotate()
    assert warm.current()[0] == "1"
    now[0] += 301
    assert warm.current()[0] == "2"


def test_blob_copied_to_another_connection_does_not_decrypt(
    sm_client: secretmanager.SecretManagerServiceClient,
) -> None:
    keys = SecretManagerDataKeys(sm_client, PROJECT, "crmsync-data-key")
    keys.rotate()
    blobs = InMemoryCiphertextStore()
    vault = EnvelopeVault(blobs, keys)
    vault.put("alice", TOKEN)
    blobs.put_blob("mallory", blobs.blobs["alice"])
    with pytest.raises(VaultError, match="copied from another connection"):
        vault.get("mallory")


def test_tampered_blob_is_a_clear_error(sm_client: secretmanager.SecretManagerServiceClient) -> None:
    keys = SecretManagerDataKeys(sm_client, PROJECT, "crmsync-data-key")
    keys.rotate()
    blobs = InMemoryCiphertextStore()
    vault = EnvelopeVault(blobs, keys)
    vault.put("alice", TOKEN)
    blob = bytearray(blobs.blobs["alice"])
    blob[-5] ^= 0x01
    blobs.put_blob("alice", bytes(blob))
    with pytest.raises(VaultError, match="tampered"):
        vault.get("alice")


def test_missing_data_key_secret_says_how_to_create_it(sm_client: secretmanager.SecretManagerServiceClient) -> None:
    vault = EnvelopeVault(InMemoryCiphertextStore(), SecretManagerDataKeys(sm_client, PROJECT, "crmsync-data-key"))
    with pytest.raises(VaultError, match=r"rotate\(\)"):
        vault.put("alice", TOKEN)


def test_data_key_of_wrong_size_is_refused(sm_client: secretmanager.SecretManagerServiceClient) -> None:
    keys = SecretManagerDataKeys(sm_client, PROJECT, "crmsync-data-key")
    keys.rotate()
    sm_client.add_secret_version(request={"parent": keys.secret_name, "payload": {"data": b"short"}})
    with pytest.raises(VaultError, match="exactly 32"):
        SecretManagerDataKeys(sm_client, PROJECT, "crmsync-data-key").current()


def test_a_warm_instance_reads_a_data_key_once_per_ttl_and_a_disabled_version_stops_within_it(
    sm_client: secretmanager.SecretManagerServiceClient,
) -> None:
    now = [0.0]
    SecretManagerDataKeys(sm_client, PROJECT, "crmsync-data-key").rotate()
    keys = SecretManagerDataKeys(sm_client, PROJECT, "crmsync-data-key", version_ttl_seconds=3600, clock=lambda: now[0])
    vault = EnvelopeVault(InMemoryCiphertextStore(), keys)
    vault.put("alice", TOKEN)
    sm_client.disable_secret_version(name=f"{keys.secret_name}/versions/1")  # the operator's answer to a leak
    now[0] += 3599
    assert vault.get("alice") == TOKEN  # cached on the warm instance: no Secret Manager read per run
    now[0] += 2
    with pytest.raises(VaultError, match="versions/1"):
        vault.get("alice")  # bounded: the disabled version is read again, and refused


def test_a_blob_that_fails_under_a_cached_key_reads_that_version_again(
    sm_client: secretmanager.SecretManagerServiceClient,
) -> None:
    """The data-key secret was deleted and created again (e.g. a re-created deployment): its version 1 is a
    new key. A warm instance still holding the old version 1 re-reads it when a blob fails, and opens it."""
    warm_keys = SecretManagerDataKeys(sm_client, PROJECT, "crmsync-data-key")
    warm_keys.rotate()
    warm = EnvelopeVault(InMemoryCiphertextStore(), warm_keys)
    warm.put("alice", TOKEN)  # version 1 cached on the warm instance
    sm_client.delete_secret(name=warm_keys.secret_name)
    fresh_keys = SecretManagerDataKeys(sm_client, PROJECT, "crmsync-data-key")
    assert fresh_keys.rotate() == "1"
    blobs = InMemoryCiphertextStore()
    EnvelopeVault(blobs, fresh_keys).put("bob", TOKEN)
    assert EnvelopeVault(blobs, warm_keys).get("bob") == TOKEN
