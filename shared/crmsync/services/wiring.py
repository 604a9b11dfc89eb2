"""What a run is wired from: the dependencies it talks to (``RunDeps``) and, per kind, the two
sides a wiring function builds for one connection (``KindWiring``; the table is ``kinds.py``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from google.oauth2.credentials import Credentials

from ..crm.port import CrmConnector
from ..google.client import Endpoint, user_credentials
from ..model.cursor import Cursor
from ..model.field_mapping import FieldMapping
from ..model.state import Connection
from ..ports import LinkStore, OpCounter, RecordSide
from ..sync.reconcile import MatchKeys
from .watch_channels import PushTarget


class StateStore(Protocol):
    """The part of the store a run needs."""

    def connection_store(self, connection_id: str) -> LinkStore: ...


@dataclass(frozen=True)
class GoogleAccess:
    """How to reach Google for a connection: endpoint and OAuth client."""

    endpoint: Endpoint
    client_id: str
    client_secret: str


@dataclass
class RunDeps:
    """Everything a run talks to (built once per warm instance by bootstrap)."""

    store: StateStore
    crm: CrmConnector
    google: GoogleAccess
    clock: Callable[[], datetime]
    push: PushTarget | None = None  # Calendar push channels are kept open when set (watch_channels.py)
    field_mapping: FieldMapping = field(default_factory=FieldMapping)  # the admin's custom fields, as the run starts
    preview_first: bool = False  # the admin's rule: a kind's first sync (or a new scope) waits for the user

    def credentials(self, conn: Connection, refresh_token: str) -> Credentials:
        """The user's Google credentials for one run of ``conn``."""
        return user_credentials(
            refresh_token=refresh_token,
            client_id=self.google.client_id,
            client_secret=self.google.client_secret,
            scopes=conn.scopes,
            endpoint=self.google.endpoint,
        )


@dataclass(frozen=True)
class KindWiring:
    """The two sides of one kind for one connection, and its first-sync matcher."""

    crm: RecordSide
    google: RecordSide
    match_keys: MatchKeys | None
    remember: Callable[[Cursor], bool] = lambda cursor: False  # store side state in the cursor; True if changed
    budget: Callable[[], bool] | None = None  # the side's own pacing (e.g. a per-user quota)
    full_every: timedelta | None = None  # list both sides in full at least this often (time windows)
    # Where the Google side lives (e.g. Google Tasks or Calendar for tasks): when it changes, the
    # kind's links point into the old place, so the kind starts over there (see ``_relocated``).
    place: str | None = None


class KindFactory(Protocol):
    def __call__(
        self, conn: Connection, credentials: Any, deps: RunDeps, cursor: Cursor, counter: OpCounter
    ) -> KindWiring: ...
