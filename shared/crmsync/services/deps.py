"""The few ports each service takes, instead of the whole ``App`` (the composition root in
``bootstrap.py``, which has them all and so can be passed to any of them). A service names what
it uses; mypy checks that it uses nothing else."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Protocol

import requests

from crmsync.config import Config
from crmsync.crm.port import CrmConnector
from crmsync.queue.port import TaskQueue
from crmsync.store.contract import StateStore
from crmsync.vault.port import TokenVault


class StoreClock(Protocol):
    """The state store and the time: settings, admin lists, stops, conflict choices."""

    @property
    def store(self) -> StateStore: ...
    @property
    def clock(self) -> Callable[[], datetime]: ...


class Enqueues(StoreClock, Protocol):
    """And the task queue: "Sync now", and the answers that ask for a run at once."""

    @property
    def queue(self) -> TaskQueue: ...


class StoreCrm(Protocol):
    """The state store and the CRM: who may connect, what the CRM offers, its custom fields."""

    @property
    def store(self) -> StateStore: ...
    @property
    def crm(self) -> CrmConnector: ...


class StatusPorts(StoreClock, Protocol):
    """Status pages: the store, the time and what the CRM offers."""

    @property
    def crm(self) -> CrmConnector: ...


class ConnectPorts(StoreClock, Protocol):
    """Connect links: the store, the time, the CRM (who may connect) and the deployment's settings."""

    @property
    def crm(self) -> CrmConnector: ...
    @property
    def config(self) -> Config: ...


class RevokePorts(Protocol):
    """Revoking a Google grant: the deployment's settings and an HTTP session."""

    @property
    def config(self) -> Config: ...
    @property
    def http(self) -> requests.Session: ...


class DisconnectPorts(StoreClock, RevokePorts, Protocol):
    """Disconnecting: the store, the time, the token vault, and what revoking the grant takes."""

    @property
    def vault(self) -> TokenVault: ...


class OAuthPorts(DisconnectPorts, Protocol):
    """Google's OAuth callback: what disconnecting takes (it stores or replaces the grant), and the
    CRM (whether the user may connect)."""

    @property
    def crm(self) -> CrmConnector: ...


class ChangeNoticePorts(Protocol):
    """A CRM's change notification: the store (replays, the connection), the queue (the debounced run)
    and the deployment's settings (the debounce window)."""

    @property
    def store(self) -> StateStore: ...
    @property
    def queue(self) -> TaskQueue: ...
    @property
    def config(self) -> Config: ...


class NotifyPorts(Enqueues, Protocol):
    """Telling the CRM what needs the user: the store, the time, the queue (a retry when no run comes),
    the CRM (its capabilities, the call) and the deployment's settings (the settings link)."""

    @property
    def crm(self) -> CrmConnector: ...
    @property
    def config(self) -> Config: ...


class WorkerPorts(NotifyPorts, Protocol):
    """The worker: what a run talks to, the token vault, and what telling the CRM takes."""

    @property
    def vault(self) -> TokenVault: ...
