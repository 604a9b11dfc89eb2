"""Per-connection state kept in Firestore: connection documents (cursors: ``cursor.py``)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from .kinds import Kind
from .settings import SyncSettings


class ConnectionStatus(StrEnum):
    ACTIVE = "active"
    NEEDS_REAUTH = "needs_reauth"
    PAUSED = "paused"
    DISCONNECTED = "disconnected"


class Lease(BaseModel):
    model_config = ConfigDict(extra="forbid")

    holder: str
    expires_at: datetime


class Notice(BaseModel):
    """A reason the connection needs its user, and whether the CRM was told (services/notify_crm.py).
    Written before the CRM is called (the id is the call's idempotency key), so a retry after a crash
    or a lost reply is the same notification, never a second one."""

    model_config = ConfigDict(extra="forbid")

    id: str
    reason: str  # crm.notifications.NotificationReason
    kind: Kind | None = None
    message: str
    since: datetime
    delivered_at: datetime | None = None  # None: not (yet) confirmed by the CRM
    attempts: int = Field(default=0, ge=0)


class Connection(BaseModel):
    """One CRM user linked to one Google account. Stored at connections/{id}."""

    model_config = ConfigDict(extra="forbid")

    id: str
    crm_user_id: str
    google_subject: str
    google_email: str
    scopes: list[str] = Field(default_factory=list)
    status: ConnectionStatus = ConnectionStatus.ACTIVE
    status_reason: str | None = None
    settings: SyncSettings = SyncSettings()
    next_sync_at: datetime | None = None
    # Complete runs in a row that found nothing: the polling interval doubles with each (services/polling.py).
    quiet_runs: int = Field(default=0, ge=0)
    created_at: datetime
    lease: Lease | None = None
    last_run: dict[str, Any] | None = None
    rerun_requested: bool = False
    # Raised on disconnect and logout: every browser session issued under a lower number is over.
    session_generation: int = Field(default=0, ge=0)
    # What needs the user now, by "<reason>:<kind or ->" (one notification each, until the reason clears).
    notices: dict[str, Notice] = Field(default_factory=dict)
