"""``python -m crmsync vault migrate`` (issue 16): the per-connection Secret Manager vault to the envelope vault
and back, on the Firestore emulator and the real Secret Manager client (REST, answered by drongo). Dry run,
idempotent, resumable after a stop, missing-only and delete-source passes."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from google.cloud import firestore, secretmanager
from rich.console import Console

from crmsync import vault_cli
from crmsync.cli import parser
from crmsync.services.vault_migration import MigrationPlan, migrate
from crmsync.store.firestore import FirestoreStore
from crmsync.vault import EnvelopeVault, SecretManagerDataKeys, SecretManagerVault, TokenNotFound, VaultUnavailable
from tests.integration.store.helpers import T0, make_connection
from tests.integration.vault.conftest import PROJECT
from tests.support.firestore_emulator import firestore_emulator_host, new_firestore_client

__all__ = ["firestore_emulator_host"]
pytestmark = pytest.mark.integration
DATA_KEY = "crmsync-data-key"
PREFIX = "crmsync-rt-"


def token(cid: str) -> str:
    return f"1//0g-refresh-token-of-{cid}-0123456789abcdefghijklmnop"


@pytest.fixture
def client(firestore_emulator_host: str) -> firestore.Client:
    return new_firestore_client(firestore_emulator_host)


@pytest.fixture
def store(client: firestore.Client) -> FirestoreStore:
    """Five connections (newest first: c4 ... c0); all but c2 hold a token in Secret Manager."""
    s = FirestoreStore(client)
    for i in range(5):
        s.put_connection(make_connection(f"c{i}", created_at=T0 + timedelta(minutes=i)))
    return s


@pytest.fixture
def sm_vault(sm_client: secretmanager.SecretManagerServiceClient, store: FirestoreStore) -> SecretManagerVault:
    vault = SecretManagerVault(sm_client, PROJECT, PREFIX)
    for cid in ("c0", "c1", "c3", "c4"):
        vault.put(cid, token(cid))
    return vault


@pytest.fixture
def envelope(sm_client: secretmanager.SecretManagerServiceClient, store: FirestoreStore) -> EnvelopeVault:
    keys = SecretManagerDataKeys(sm_client, PROJECT, DATA_KEY)
    keys.rotate()
    return EnvelopeVault(store, keys)


def cli(
    argv: list[str], client: firestore.Client, sm_client: secretmanager.SecretManagerServiceClient
) -> tuple[int, str]:
    console = Console(record=True, width=200)
    args = parser().parse_args(["vault", "migrate", "--project", PROJECT, "--data-key-secret", DATA_KEY, *argv])
    code = vault_cli.run(args, console, secret_manager=sm_client, firestore_client=client)
    return code, console.export_text()


def test_a_dry_run_counts_and_writes_nothing_then_the_migration_moves_every_token_once(
    client: firestore.Client,
    sm_client: secretmanager.SecretManagerServiceClient,
    sm_vault: SecretManagerVault,
    envelope: EnvelopeVault,
    tmp_path: Path,
) -> None:
    progress = tmp_path / "progress.json"
    base = ["--from", "secret-manager", "--to", "envelope", "--page-size", "2", "--progress-file", str(progress)]
    code, out = cli([*base, "--dry-run"], client, sm_client)
    assert code == 0, out
    assert "dry run: done: 5 connections, 4 copied, 0 already there, 1 without a token" in out
    assert not progress.exists()
    with pytest.raises(TokenNotFound):
        envelope.get("c0")

    code, out = cli(base, client, sm_client)
    assert code == 0, out
    assert "page 1: 2 connections, 2 copied" in out  # progress per page
    assert "done: 5 connections, 4 copied, 0 already there, 1 without a token" in out
    for cid in ("c0", "c1", "c3", "c4"):
        assert envelope.get(cid) == token(cid)
        assert sm_vault.get(cid) == token(cid)  # the source is kept until asked to delete it
    assert json.loads(progress.read_text())["finished"] is True

    code, out = cli(base, client, sm_client)  # idempotent: a finished migration run again changes nothing
    assert code == 0, out
    assert "done: 5 connections, 0 copied, 4 already there, 1 without a token" in out


class StopsAfter:
    """The real Secret Manager vault, whose quota runs out after ``gets`` reads (as it answers 429)."""

    def __init__(self, inner: SecretManagerVault, gets: int) -> None:
        self.inner, self.left = inner, gets

    def get(self, connection_id: str) -> str:
        if self.left <= 0:
            raise VaultUnavailable("reading a token: Secret Manager quota exceeded (600 writes/min per project)")
        self.left -= 1
        return self.inner.get(connection_id)

    def put(self, connection_id: str, refresh_token: str) -> None:
        self.inner.put(connection_id, refresh_token)

    def delete(self, connection_id: str) -> None:
        self.inner.delete(connection_id)


def test_a_stopped_migration_resumes_after_its_last_finished_page(
    store: FirestoreStore, sm_vault: SecretManagerVault, envelope: EnvelopeVault, tmp_path: Path
) -> None:
    plan = MigrationPlan("secret-manager", "envelope", tmp_path / "progress.json", page_size=2)
    with pytest.raises(VaultUnavailable):
        migrate(store, StopsAfter(sm_vault, 3), envelope, plan)  # c4, c3 (page 1), c2 has none, c1 fails
    saved = json.loads(plan.progress_file.read_text())
    assert (saved["pages"], saved["finished"], saved["counts"]["copied"]) == (1, False, 2)

    pages: list[int] = []
    done = migrate(store, sm_vault, envelope, plan, lambda p: pages.append(p.pages))
    assert pages == [2, 3]  # page 1 is not read again
    assert done.finished
    assert (done.counts.seen, done.counts.copied, done.counts.no_token) == (5, 4, 1)
    assert all(envelope.get(cid) == token(cid) for cid in ("c0", "c1", "c3", "c4"))


def test_the_pass_after_the_switch_copies_only_missing_tokens_and_the_last_deletes_the_source(
    client: firestore.Client,
    sm_client: secretmanager.SecretManagerServiceClient,
    sm_vault: SecretManagerVault,
    envelope: EnvelopeVault,
    tmp_path: Path,
) -> None:
    base = ["--from", "secret-manager", "--to", "envelope", "--progress-file", str(tmp_path / "p.json")]
    assert cli(base, client, sm_client)[0] == 0
    envelope.put("c4", token("c4") + "-reconnected")  # the switched deployment wrote a newer token
    sm_vault.put("c2", token("c2"))  # the old deployment connected c2 before the switch
    code, out = cli([*base, "--missing-only"], client, sm_client)
    assert code == 0, out
    assert "1 copied, 3 already there, 0 without a token, 1 kept (target differs)" in out
    assert envelope.get("c4") == token("c4") + "-reconnected"
    assert envelope.get("c2") == token("c2")

    code, out = cli([*base, "--missing-only", "--delete-source"], client, sm_client)
    assert code == 0, out
    assert "4 deleted from secret-manager" in out
    for cid in ("c0", "c1", "c2", "c3"):
        with pytest.raises(TokenNotFound):
            sm_vault.get(cid)
    assert sm_vault.get("c4") == token("c4")  # the target holds a different one: the source copy stays


def test_and_back_from_the_envelope_vault_to_secret_manager(
    client: firestore.Client,
    sm_client: secretmanager.SecretManagerServiceClient,
    store: FirestoreStore,
    envelope: EnvelopeVault,
    tmp_path: Path,
) -> None:
    for cid in ("c1", "c3"):
        envelope.put(cid, token(cid))
    argv = ["--from", "envelope", "--to", "secret-manager", "--delete-source", "--progress-file", str(tmp_path / "b")]
    code, out = cli(argv, client, sm_client)
    assert code == 0, out
    assert "2 copied" in out and "2 deleted from envelope" in out
    back = SecretManagerVault(sm_client, PROJECT, PREFIX)
    assert (back.get("c1"), back.get("c3")) == (token("c1"), token("c3"))
    assert store.get_blob("c1") is None


def test_bad_arguments_are_refused_with_a_message(
    client: firestore.Client, sm_client: secretmanager.SecretManagerServiceClient, tmp_path: Path
) -> None:
    code, out = cli(["--from", "envelope", "--to", "envelope"], client, sm_client)
    assert code == 2 and "same vault" in out
    code, out = cli(["--from", "envelope", "--to", "secret-manager", "--page-size", "0"], client, sm_client)
    assert code == 2 and "--page-size" in out
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"source": "envelope", "target": "secret-manager", "after": "x"}))
    plan = MigrationPlan("secret-manager", "envelope", other)
    with pytest.raises(Exception, match="holds a migration from envelope to secret-manager"):
        migrate(
            FirestoreStore(client), SecretManagerVault(sm_client, PROJECT), SecretManagerVault(sm_client, PROJECT), plan
        )


def test_reseal_moves_every_token_to_the_current_data_key_once(
    client: firestore.Client,
    sm_client: secretmanager.SecretManagerServiceClient,
    store: FirestoreStore,
    envelope: EnvelopeVault,
) -> None:
    for cid in ("c0", "c2", "c4"):
        envelope.put(cid, token(cid))
    assert SecretManagerDataKeys(sm_client, PROJECT, DATA_KEY).rotate() == "2"
    argv = ["vault", "reseal", "--project", PROJECT, "--data-key-secret", DATA_KEY, "--page-size", "2"]
    for expected in ("3 sealed again under version 2", "0 sealed again under version 2"):  # idempotent
        console = Console(record=True, width=200)
        code = vault_cli.run(parser().parse_args(argv), console, secret_manager=sm_client, firestore_client=client)
        out = console.export_text()
        assert code == 0, out
        assert f"done: 5 connections, {expected}" in out
    fresh = EnvelopeVault(store, SecretManagerDataKeys(sm_client, PROJECT, DATA_KEY))
    assert [fresh.key_version_of(cid) for cid in ("c0", "c2", "c4")] == ["2", "2", "2"]
    assert fresh.get("c2") == token("c2")
