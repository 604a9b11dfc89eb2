"""Where one kind's sync stands, typed: stored at connections/{id}/cursors/{kind}.

Every piece of state a run keeps between runs has a named, typed field here (documents of the
previous shape, with a free-form ``extra`` map, are read by ``store/legacy.py``)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from .choices import UserChoices
from .kinds import Kind, Side
from .settings import ConflictPolicy


class CrmFeed(BaseModel):
    """The CRM change feed's filters, kept with its cursor (services/feed_filters.py)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    filters: str | None = None  # the filters the stored CRM cursor was issued for
    restarting: bool = False  # listing in full after a filter change, until a run completes


class GooglePlace(BaseModel):
    """Where the kind's Google side lives."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    target: str | None = None  # where it lived when its links were made ("tasks", "calendar")
    group: str | None = None  # contacts: the scope group's resource name
    calendar: str | None = None  # events: the dedicated calendar's id
    written_calendars: tuple[str, ...] = ()  # events: every calendar CRM activities were ever written to


class PendingCreates(BaseModel):
    """CRM creates sent but not yet confirmed by a complete run, recorded before they are sent (a
    lost reply or a crash replays them, never twins): Google id -> idempotency source."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    keys: dict[str, str] = Field(default_factory=dict)
    since: datetime | None = None  # when the oldest of them was first sent


class PendingRecreates(BaseModel):
    """Re-creates into Google of linked pairs (their Google record gone, their CRM record edited), recorded
    before they are sent and kept until a run completes: CRM id -> content hash of the record sent. A run
    that dies after Google made the record never saves its link; the next run adopts the record by the
    CRM id it carries, and this says which side still holds what was sent (the merge's base): not the
    link's old base, which the new record never held."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sent: dict[str, str] = Field(default_factory=dict)


class PendingConflict(BaseModel):
    """A conflict planned by a run that has not reported yet (reported by the next run if this
    one dies); the same fields as the run report's conflict entries."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    crm_id: str | None
    google_id: str | None
    field: str
    winner: Side
    policy: ConflictPolicy
    crm: JsonValue
    google: JsonValue
    name: str | None


class RetryList(BaseModel):
    """Record ids per side that the last complete run could not sync (sync/retry.py)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    crm: tuple[str, ...] = ()
    google: tuple[str, ...] = ()
    overflow: bool = False  # more failed than fit: list both sides in full next run

    def ids(self, side: Side) -> tuple[str, ...]:
        return self.crm if side is Side.CRM else self.google


class Cursor(BaseModel):
    """Where one kind's sync stands. Stored at connections/{id}/cursors/{kind}."""

    model_config = ConfigDict(extra="forbid")

    kind: Kind
    google_token: str | None = None  # People/Calendar sync token, or Tasks updatedMin watermark
    crm_cursor: str | None = None
    full_sync: bool = True  # next run lists everything on both sides and reconciles against links
    updated_at: datetime | None = None
    listed_in_full_at: datetime | None = None  # when both sides were last listed in full
    crm_feed: CrmFeed = CrmFeed()
    place: GooglePlace = GooglePlace()
    quota_until: datetime | None = None  # the kind waits for a used-up Google quota until then
    crm_creating: PendingCreates = PendingCreates()
    google_recreating: PendingRecreates = PendingRecreates()
    unreported_conflicts: tuple[PendingConflict, ...] = ()
    retry: RetryList = RetryList()
    field_mapping_digest: str | None = None  # of the admin's field mapping the cursors were read with
    user_choices: UserChoices = UserChoices()  # the user's answers for the next run (sync/approvals.py)
