"""The one composition root: builds the store, vault, CRM connector, queue and clock from Config.

Called once per warm instance by the functions; tests call ``bootstrap(config, store=..., ...)``
with fakes instead of patching anything.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import requests

from crmsync.config import Config
from crmsync.crm.port import CrmConnector
from crmsync.obs.logging import redact
from crmsync.queue.port import TaskQueue
from crmsync.store.contract import StateStore
from crmsync.vault.port import TokenVault

Clock = Callable[[], datetime]
log = logging.getLogger(__name__)


def utc_now() -> datetime:
    """The current time in UTC."""
    return datetime.now(UTC)


@dataclass
class App:
    """Everything a service needs, built once."""

    config: Config
    store: StateStore
    vault: TokenVault
    crm: CrmConnector
    queue: TaskQueue
    clock: Clock
    http: requests.Session  # calls to Google's OAuth endpoints (revoke, userinfo)


def bootstrap(
    config: Config,
    *,
    store: StateStore | None = None,
    vault: TokenVault | None = None,
    crm: CrmConnector | None = None,
    queue: TaskQueue | None = None,
    clock: Clock | None = None,
    http: requests.Session | None = None,
) -> App:
    """Build the App: real adapters from config for every part not passed in."""
    for secret in config.secrets():
        redact.register(secret)
    store = store if store is not None else _store(config)
    return App(
        config=config,
        store=store,
        vault=vault if vault is not None else _vault(config, store),
        crm=crm if crm is not None else _crm(config),
        queue=queue if queue is not None else _queue(config),
        clock=clock or utc_now,
        http=http or requests.Session(),
    )


def _store(config: Config) -> StateStore:
    if config.store == "memory":
        from crmsync.store.memory import MemoryStore

        return MemoryStore()
    from google.cloud import firestore

    from crmsync.store.firestore import FirestoreStore

    return FirestoreStore(firestore.Client(project=config.project))


def _vault(config: Config, store: StateStore) -> TokenVault:
    if config.vault == "local_file":
        from crmsync.vault.local_file import LocalFileVault

        assert config.local_vault_path is not None  # Config.check guarantees it
        return LocalFileVault(Path(config.local_vault_path))
    from google.cloud import secretmanager

    from crmsync.vault.secret_manager import SecretManagerVault

    client = secretmanager.SecretManagerServiceClient()
    assert config.project is not None
    if config.vault == "envelope":
        from crmsync.vault.data_keys import SecretManagerDataKeys
        from crmsync.vault.envelope import EnvelopeVault

        return EnvelopeVault(store, SecretManagerDataKeys(client, config.project))
    return SecretManagerVault(client, config.project, config.secret_prefix)


def _crm(config: Config) -> CrmConnector:
    from crmsync.crm.rest import RestCrmConnector

    return RestCrmConnector(config.crm_base_url, config.crm_api_key)


def _queue(config: Config) -> TaskQueue:
    # Seam for the Cloud Tasks / local queue adapters (another issue); until they exist "Sync now"
    # records tasks in memory and the fan-out picks the connection up at its next_sync_at.
    from crmsync.queue.memory import MemoryTaskQueue

    log.warning("no task queue adapter configured; using the in-memory queue (tasks are not dispatched)")
    return MemoryTaskQueue()
