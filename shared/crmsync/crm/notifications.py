"""What crmsync tells the CRM when a connection needs its user (``POST /notifications`` of the CRM Sync
API, docs/crm-sync-api.md "Notifications"): the user, the reason, a plain message and a way to the
settings page. Optional: crmsync sends them only to a CRM that declares ``notifications: true`` in
``GET /capabilities``."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class NotificationReason(StrEnum):
    """Why the user is needed."""

    RECONNECT = "reconnect"  # Google no longer accepts the grant, or a kind was not allowed
    SAFETY_STOP = "safety_stop"  # a run stopped before deleting more records than usual
    KIND_STOPPED = "kind_stopped"  # a setting names something that is gone (a calendar, a list)
    RECORDS_FAILING = "records_failing"  # records have failed to sync for more than a day


CrmKindName = Literal["contacts", "activities", "tasks"]


class Notification(BaseModel):
    """One notification, as sent (``Idempotency-Key`` is its ``id``: a retry is the same notification)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[A-Za-z0-9._:-]{1,128}$")
    user_id: str = Field(min_length=1, max_length=255)
    reason: NotificationReason
    kind: CrmKindName | None = None  # None: the whole connection (reconnect)
    message: str = Field(min_length=1, max_length=1000)
    settings_url: str  # the settings page; the CRM opens it with a settings link it mints at click time
    settings_link: str | None = None  # a settings link minted now (15 minutes, single use), if crmsync holds the key
    settings_link_expires_at: datetime | None = None
    created_at: datetime
