"""Secret Manager specifics: one live version, labels, deletion, caching, error mapping."""

from __future__ import annotations

import socket

import pytest
from drongo import get_backend
from google.api_core.exceptions import NotFound
from google.auth.credentials import AnonymousCredentials
from google.cloud import secretmanager

from crmsync.vault import SecretManagerVault, TokenNotFound, VaultError, VaultUnavailable
from tests.integration.vault.conftest import PROJECT

pytestmark = pytest.mark.integration

TOKEN = "1//0gRefreshTokenForTests-abcdefghijklmnopqrstuvwxyz"
SECRET = f"projects/{PROJECT}/secrets/crmsync-token-conn-1"
State = secretmanager.SecretVersion.State


def versions(client: secretmanager.SecretManagerServiceClient) -> dict[str, State]:
    return {v.name.rsplit("/", 1)[-1]: State(v.state) for v in client.list_secret_versions(request={"parent": SECRET})}


def test_second_put_destroys_the_older_version(sm_client: secretmanager.SecretManagerServiceClient) -> None:
    vault = SecretManagerVault(sm_client, PROJECT)
    vault.put("conn-1", TOKEN)
    vault.put("conn-1", TOKEN + "-2")
    vault.put("conn-1", TOKEN + "-3")
    assert versions(sm_client) == {"1": State.DESTROYED, "2": State.DESTROYED, "3": State.ENABLED}
    assert vault.get("conn-1") == TOKEN + "-3"


def test_unchanged_put_writes_no_version(sm_client: secretmanager.SecretManagerServiceClient) -> None:
    vault = SecretManagerVault(sm_client, PROJECT)
    vault.put("conn-1", TOKEN)
    SecretManagerVault(sm_client, PROJECT).put("conn-1", TOKEN)
    assert versions(sm_client) == {"1": State.ENABLED}


def test_secret_has_labels_and_automatic_replication(sm_client: secretmanager.SecretManagerServiceClient) -> None:
    SecretManagerVault(sm_client, PROJECT).put("conn-1", TOKEN)
    secret = sm_client.get_secret(name=SECRET)
    assert dict(secret.labels) == {"app": "crmsync"}
    assert "automatic" in secretmanager.Replication.to_dict(secret.replication)


def test_delete_removes_the_secret(sm_client: secretmanager.SecretManagerServiceClient) -> None:
    vault = SecretManagerVault(sm_client, PROJECT)
    vault.put("conn-1", TOKEN)
    vault.delete("conn-1")
    with pytest.raises(NotFound):
        sm_client.get_secret(name=SECRET)


def test_put_into_existing_secret_without_versions(sm_client: secretmanager.SecretManagerServiceClient) -> None:
    # A secret left behind by a crash between create and add: put must reuse it (409 on create).
    sm_client.create_secret(
        request={
            "parent": f"projects/{PROJECT}",
            "secret_id": "crmsync-token-conn-1",
            "secret": {"replication": {"automatic": {}}},
        }
    )
    vault = SecretManagerVault(sm_client, PROJECT)
    with pytest.raises(TokenNotFound):
        vault.get("conn-1")
    vault.put("conn-1", TOKEN)
    assert vault.get("conn-1") == TOKEN


def test_get_cache_serves_a_warm_instance_until_ttl(sm_client: secretmanager.SecretManagerServiceClient) -> None:
    now = [1000.0]
    cached = SecretManagerVault(sm_client, PROJECT, cache_ttl_seconds=60, clock=lambda: now[0])
    other = SecretManagerVault(sm_client, PROJECT)
    other.put("conn-1", TOKEN)
    assert cached.get("conn-1") == TOKEN
    other.put("conn-1", TOKEN + "-new")
    assert cached.get("conn-1") == TOKEN  # served from the cache: no access call
    now[0] += 61
    assert cached.get("conn-1") == TOKEN + "-new"
    cached.delete("conn-1")
    with pytest.raises(TokenNotFound):
        cached.get("conn-1")


def test_custom_prefix(sm_client: secretmanager.SecretManagerServiceClient) -> None:
    SecretManagerVault(sm_client, PROJECT, prefix="stage-tok-").put("c9", TOKEN)
    assert "stage-tok-c9" in get_backend("secretmanager")[PROJECT].secrets


def test_unreachable_secret_manager_is_transient() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again below: nothing listens there
    client = secretmanager.SecretManagerServiceClient(
        transport="rest",
        credentials=AnonymousCredentials(),
        client_options={"api_endpoint": f"http://127.0.0.1:{port}"},
    )
    vault = SecretManagerVault(client, PROJECT)
    with pytest.raises(VaultUnavailable, match="retry later"):
        vault.get("conn-1")


def test_missing_project_is_a_clear_error(sm_client: secretmanager.SecretManagerServiceClient) -> None:
    with pytest.raises(VaultError, match="project"):
        SecretManagerVault(sm_client, "")
