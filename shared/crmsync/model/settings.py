"""Per-connection sync settings (validated; the settings page and API edit them)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from .event import EventOptions
from .ids import Text200
from .kinds import Kind
from .task import TaskOptions

# Limits on what a settings document may hold: it is stored in one Firestore document (1 MiB at
# most) and every run reads it, so each string and list is bounded, and every number ranged.
MAX_FIELD_NAMES = 50
FieldName = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.]+$")]


class Direction(StrEnum):
    TWO_WAY = "two_way"
    CRM_TO_GOOGLE = "crm_to_google"
    GOOGLE_TO_CRM = "google_to_crm"


class ConflictPolicy(StrEnum):
    CRM_WINS = "crm_wins"
    GOOGLE_WINS = "google_wins"
    MOST_RECENT = "most_recent"


class DeleteRule(StrEnum):
    DELETE = "delete"  # delete the linked record on the other side
    UNLINK_ONLY = "unlink_only"  # forget the link; the other side keeps its record
    IGNORE = "ignore"  # keep link and record; the deletion is not propagated


class DeleteConflictRule(StrEnum):
    KEEP_EDITED = "keep_edited"  # deleted on one side, edited on the other: keep (re-create) the edit
    DELETE = "delete"  # the deletion wins


class UpdateRule(StrEnum):
    ALWAYS = "always"
    NEVER = "never"
    ONLY_IF_CREATED_THERE = "only_if_created_there"  # update only records this side created


class OwnerScope(StrEnum):
    OWNED = "owned"  # only records the CRM user owns
    VISIBLE = "visible"  # every record the CRM user may see


class SideRules(BaseModel):
    """What may happen to records on one side (the side written to)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    create: bool = True
    update: UpdateRule = UpdateRule.ALWAYS
    delete: DeleteRule = DeleteRule.DELETE


class KindSettings(BaseModel):
    """Settings of one kind of record for one connection."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    direction: Direction = Direction.TWO_WAY
    conflict_policy: ConflictPolicy = ConflictPolicy.MOST_RECENT
    delete_conflict: DeleteConflictRule = DeleteConflictRule.KEEP_EDITED
    # Rules for writes INTO the CRM and INTO Google.
    crm: SideRules = SideRules()
    google: SideRules = SideRules()
    # Canonical field names never overwritten on that side once they hold a value.
    never_overwrite_crm: frozenset[FieldName] = Field(default=frozenset(), max_length=MAX_FIELD_NAMES)
    never_overwrite_google: frozenset[FieldName] = Field(default=frozenset(), max_length=MAX_FIELD_NAMES)
    # Scope.
    crm_tag: Text200 | None = None  # only CRM records with this tag (None: all in owner scope)
    owner_scope: OwnerScope = OwnerScope.OWNED
    google_group: Text200 | None = "CRM"  # contacts: Google contact group (created if missing); None = all
    # Safety: stop before deleting more than this share of linked records in one run.
    max_delete_share: float = Field(default=0.2, ge=0.0, le=1.0)
    # Minimum linked records before the share check applies (tiny accounts delete freely).
    max_delete_floor: int = Field(default=10, ge=0, le=1_000_000)

    @field_validator("crm_tag", "google_group")
    @classmethod
    def _strip(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip()
        return value or None


class ContactOptions(BaseModel):
    """Contact-specific options."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    default_region: str = Field(default="US", pattern=r"^[A-Z]{2}$")
    link_companies: bool = True  # Google organisation name <-> CRM company record
    create_companies: bool = False  # create a CRM company when no name matches
    groups_as_tags: bool = False  # mirror Google group memberships as CRM tags (see README caveat)


class SyncSettings(BaseModel):
    """All settings of one connection."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    contacts: KindSettings = KindSettings()
    events: KindSettings = KindSettings(google_group=None)
    tasks: KindSettings = KindSettings(google_group=None)
    contact_options: ContactOptions = ContactOptions()
    task_options: TaskOptions = TaskOptions()
    event_options: EventOptions = EventOptions()
    interval_minutes: int = Field(default=5, ge=1, le=1440)
    # Times on the settings page: an IANA zone the user chose; None = their Google Calendar's.
    time_zone: str | None = Field(default=None, max_length=64)

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not a time zone name such as Europe/Berlin") from None
        return value

    def kind(self, kind: Kind) -> KindSettings:
        """Settings of one kind."""
        return {Kind.CONTACTS: self.contacts, Kind.EVENTS: self.events, Kind.TASKS: self.tasks}[kind]
