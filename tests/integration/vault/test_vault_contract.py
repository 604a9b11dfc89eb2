"""One contract suite, run against all three TokenVault implementations."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from google.cloud import secretmanager

from crmsync.vault import (
    EnvelopeVault,
    InMemoryCiphertextStore,
    LocalFileVault,
    SecretManagerDataKeys,
    SecretManagerVault,
    TokenNotFound,
    TokenVault,
    VaultError,
)
from tests.integration.vault.conftest import PROJECT

pytestmark = pytest.mark.integration

TOKEN = "1//0gAbCdEfGhIjKlMnOpQrStUvWxYz-0123456789_abcdefghijklmnop"


@pytest.fixture(params=["secret_manager", "envelope", "local_file"])
def make_vault(
    request: pytest.FixtureRequest, sm_client: secretmanager.SecretManagerServiceClient, tmp_path: Path
) -> Iterator[Callable[[], TokenVault]]:
    """A factory of vault instances sharing one backing store (a second instance = another warm process)."""
    if request.param == "secret_manager":
        yield lambda: SecretManagerVault(sm_client, PROJECT)
    elif request.param == "envelope":
        blobs = InMemoryCiphertextStore()
        SecretManagerDataKeys(sm_client, PROJECT, "crmsync-data-key").rotate()
        yield lambda: EnvelopeVault(blobs, SecretManagerDataKeys(sm_client, PROJECT, "crmsync-data-key"))
    else:
        yield lambda: LocalFileVault(tmp_path / "tokens.json")


@pytest.fixture
def vault(make_vault: Callable[[], TokenVault]) -> TokenVault:
    return make_vault()


def test_put_then_get_returns_token(vault: TokenVault) -> None:
    vault.put("conn-1", TOKEN)
    assert vault.get("conn-1") == TOKEN


def test_overwrite_returns_newest(vault: TokenVault) -> None:
    vault.put("conn-1", TOKEN)
    vault.put("conn-1", TOKEN + "-rotated")
    assert vault.get("conn-1") == TOKEN + "-rotated"


def test_put_same_token_twice_is_harmless(vault: TokenVault) -> None:
    vault.put("conn-1", TOKEN)
    vault.put("conn-1", TOKEN)
    assert vault.get("conn-1") == TOKEN


def test_connections_are_independent(vault: TokenVault) -> None:
    vault.put("a", TOKEN + "a")
    vault.put("b", TOKEN + "b")
    vault.delete("a")
    assert vault.get("b") == TOKEN + "b"
    with pytest.raises(TokenNotFound):
        vault.get("a")


def test_delete_then_get_raises_not_found_and_delete_is_idempotent(vault: TokenVault) -> None:
    vault.put("conn-1", TOKEN)
    vault.delete("conn-1")
    with pytest.raises(TokenNotFound):
        vault.get("conn-1")
    vault.delete("conn-1")
    vault.delete("never-stored")


def test_get_unknown_raises_not_found(vault: TokenVault) -> None:
    with pytest.raises(TokenNotFound, match="conn-x"):
        vault.get("conn-x")


def test_put_after_delete_stores_again(vault: TokenVault) -> None:
    vault.put("conn-1", TOKEN)
    vault.delete("conn-1")
    vault.put("conn-1", TOKEN + "2")
    assert vault.get("conn-1") == TOKEN + "2"


def test_unicode_token_round_trips(vault: TokenVault) -> None:
    token = "tökén-☃-𝄞-日本語"
    vault.put("conn-u", token)
    assert vault.get("conn-u") == token


def test_large_token_round_trips(vault: TokenVault) -> None:
    token = "x" * (64 * 1024 - 1)
    vault.put("conn-big", token)
    assert vault.get("conn-big") == token


def test_token_of_64_kib_is_refused_without_echoing_it(vault: TokenVault) -> None:
    with pytest.raises(VaultError, match="65536 bytes") as info:
        vault.put("conn-big", "y" * (64 * 1024))
    assert "yyyy" not in str(info.value)


@pytest.mark.parametrize("bad", ["", "has/slash", "dots.not.allowed", "sp ace", "x" * 201, "ümlaut"])
def test_bad_connection_id_is_refused(vault: TokenVault, bad: str) -> None:
    with pytest.raises(VaultError, match="invalid connection id"):
        vault.put(bad, TOKEN)
    with pytest.raises(VaultError, match="invalid connection id"):
        vault.get(bad)


def test_empty_token_is_refused(vault: TokenVault) -> None:
    with pytest.raises(VaultError, match="empty"):
        vault.put("conn-1", "")


def test_second_instance_sees_writes(make_vault: Callable[[], TokenVault]) -> None:
    first, second = make_vault(), make_vault()
    first.put("shared", TOKEN)
    assert second.get("shared") == TOKEN
    second.put("shared", TOKEN + "-new")
    assert first.get("shared") == TOKEN + "-new"
    first.delete("shared")
    with pytest.raises(TokenNotFound):
        second.get("shared")
