"""The one composition root: builds the store, vault, CRM connector, queue and clock from Config.

Called once per warm instance by the functions; tests call ``bootstrap(config, store=..., ...)``
with fakes instead of patching anything.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
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
    register_secrets(config)
    store = store if store is not None else make_store(config)
    return App(
        config=config,
        store=store,
        vault=vault if vault is not None else _vault(config, store),
        crm=crm if crm is not None else _crm(config),
        queue=queue if queue is not None else make_queue(config),
        clock=clock or utc_now,
        http=http or requests.Session(),
    )


def register_secrets(config: Config) -> None:
    """Mask every configured secret in the logs."""
    for secret in config.secrets():
        redact.register(secret, pinned=True)


def make_store(config: Config) -> StateStore:
    """The state store the configuration names."""
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

        assert config.data_key_secret is not None  # Config.check guarantees it
        return EnvelopeVault(store, SecretManagerDataKeys(client, config.project, config.data_key_secret))
    return SecretManagerVault(client, config.project, config.secret_prefix)


def _crm(config: Config) -> CrmConnector:
    from crmsync.crm.rest import RestCrmConnector

    access = config.crm_access()
    return RestCrmConnector(access.base_url, access.api_key)


def make_queue(config: Config, env: Mapping[str, str] | None = None) -> TaskQueue:
    """Cloud Tasks when CRMSYNC_TASKS_QUEUES names queues; locally, an in-process queue that
    POSTs to CRMSYNC_WORKER_URL with the shared secret; else an in-memory recorder."""
    env = os.environ if env is None else env
    if env.get("CRMSYNC_TASKS_QUEUES"):
        from crmsync.queue.cloud_tasks import cloud_tasks_queue_from_env

        return cloud_tasks_queue_from_env(env)
    worker_url = env.get("CRMSYNC_WORKER_URL")
    if worker_url and config.is_local:
        from crmsync.queue.local import LocalTaskQueue

        headers = {"X-CrmSync-Internal": config.internal_secret} if config.internal_secret else {}
        return LocalTaskQueue(worker_url, headers=headers)
    from crmsync.queue.memory import MemoryTaskQueue

    log.warning(
        "no task queue configured (CRMSYNC_TASKS_QUEUES or a local CRMSYNC_WORKER_URL); tasks are recorded only"
    )
    return MemoryTaskQueue()
