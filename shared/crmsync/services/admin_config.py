"""The global rules the CRM admin sets (stored as the store's global config) and how they apply."""

from __future__ import annotations

import logging
import threading
import weakref
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from crmsync.crm.models import User
from crmsync.model.field_mapping import FieldMapping
from crmsync.model.ids import CrmUserId, Text200
from crmsync.model.kinds import Kind
from crmsync.model.settings import Direction, SyncSettings
from crmsync.services.errors import FieldProblem, InvalidInput
from crmsync.services.polling import PollingBounds
from crmsync.store.contract import StateStore

log = logging.getLogger(__name__)
MAX_POLICY_USERS = 1000  # more users than this: give them a role instead
MAX_POLICY_ROLES = 100


class ConnectMode(StrEnum):
    NONE = "none"  # nobody may connect (also what an unreadable stored config falls back to)
    ALL = "all"  # every active CRM user may connect
    USERS = "users"  # only the listed user ids
    ROLES = "roles"  # only users with one of the listed roles


class ConnectPolicy(BaseModel):
    """Which CRM users may connect."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    mode: ConnectMode = ConnectMode.ALL
    user_ids: list[CrmUserId] = Field(default_factory=list, max_length=MAX_POLICY_USERS)
    roles: list[Text200] = Field(default_factory=list, max_length=MAX_POLICY_ROLES)

    @model_validator(mode="after")
    def _needs_members(self) -> ConnectPolicy:
        if self.mode is ConnectMode.USERS and not self.user_ids:
            raise ValueError("mode 'users' needs at least one entry in user_ids")
        if self.mode is ConnectMode.ROLES and not self.roles:
            raise ValueError("mode 'roles' needs at least one entry in roles")
        return self

    def allows(self, user: User) -> bool:
        """Whether this CRM user may connect."""
        if not user.active or self.mode is ConnectMode.NONE:
            return False
        if self.mode is ConnectMode.USERS:
            return user.id in self.user_ids
        if self.mode is ConnectMode.ROLES:
            return user.role in self.roles
        return True


class KindSwitches(BaseModel):
    """Which kinds of record the deployment syncs at all."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    contacts: bool = True
    events: bool = True
    tasks: bool = True

    def on(self, kind: Kind) -> bool:
        """Whether the kind is switched on."""
        return bool(getattr(self, kind.value))


class EmailMatch(StrEnum):
    """How the Google account's verified e-mail must relate to the CRM user's e-mail."""

    EXACT = "exact"  # the same address (case-insensitive)
    DOMAIN = "domain"  # the same domain (e.g. a company's Google Workspace)
    ANY = "any"  # any Google account (the confirmation page is the only check)


# Which sides a direction lets crmsync write into.
_WRITES: dict[Direction, frozenset[str]] = {
    Direction.TWO_WAY: frozenset({"crm", "google"}),
    Direction.CRM_TO_GOOGLE: frozenset({"google"}),
    Direction.GOOGLE_TO_CRM: frozenset({"crm"}),
}


class AdminConfig(BaseModel):
    """Global rules. ``sync_enabled`` False pauses every sync at once."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sync_enabled: bool = True
    kinds: KindSwitches = KindSwitches()
    allowed_directions: list[Direction] = Field(default_factory=lambda: list(Direction), min_length=1, max_length=3)
    connect: ConnectPolicy = ConnectPolicy()
    users_may_edit: bool = True
    defaults: SyncSettings = SyncSettings()
    # Connecting: the Google account's e-mail must match the CRM user's (exact / domain / any), and
    # whether one Google account may be joined to several CRM users.
    email_match: EmailMatch = EmailMatch.EXACT
    share_google_accounts: bool = False
    # Adaptive polling: every connection's interval stays within these bounds (services/polling.py).
    polling: PollingBounds = PollingBounds()
    # The CRM's custom fields synced, per kind (PUT /admin/field-mapping checks them against the CRM).
    field_mapping: FieldMapping = FieldMapping()
    # Each user reviews a preview before a kind's first sync (and after changing its scope or target):
    # nothing is written until they press "Start syncing" (services/preview_gate.py).
    preview_first_sync: bool = True

    @classmethod
    def deny_all(cls) -> AdminConfig:
        """The rules used when the stored ones cannot be read and none were read before: nothing is allowed."""
        return cls(
            sync_enabled=False,
            kinds=KindSwitches(contacts=False, events=False, tasks=False),
            connect=ConnectPolicy(mode=ConnectMode.NONE),
            users_may_edit=False,
        )

    def run_settings(self, settings: SyncSettings) -> SyncSettings:
        """A connection's settings as a run may apply them now: kinds switched off are off, and each
        direction narrowed to the writes the allowed directions permit (a kind left with none is off)."""
        permitted = frozenset().union(*(_WRITES[d] for d in self.allowed_directions))
        changes = {}
        for kind in Kind:
            ks = settings.kind(kind)
            writes = _WRITES[ks.direction] & permitted
            if not self.kinds.on(kind) or not writes:
                changes[kind.value] = ks.model_copy(update={"enabled": False})
            elif writes != _WRITES[ks.direction]:
                narrowed = next(d for d, w in _WRITES.items() if w == writes)
                changes[kind.value] = ks.model_copy(update={"direction": narrowed})
        return settings.model_copy(update=changes)

    def enabled_kinds(self) -> list[Kind]:
        """Kinds switched on, in canonical order."""
        return [k for k in Kind if self.kinds.on(k)]

    def new_connection_settings(self, granted: set[Kind]) -> SyncSettings:
        """Settings for a new connection: the defaults, with kinds off that are switched off or not granted."""
        return restrict_kinds(self.defaults, {k for k in Kind if self.kinds.on(k) and k in granted})


def restrict_kinds(settings: SyncSettings, allowed: set[Kind]) -> SyncSettings:
    """The settings with every kind outside ``allowed`` disabled."""
    changes = {k.value: settings.kind(k).model_copy(update={"enabled": False}) for k in Kind if k not in allowed}
    return settings.model_copy(update=changes)


# The last rules read successfully from each store (this instance's memory), kept for fail-closed reads.
_last_good: weakref.WeakKeyDictionary[Any, AdminConfig] = weakref.WeakKeyDictionary()
_last_good_lock = threading.Lock()


def load_admin_config(store: StateStore) -> AdminConfig:
    """The stored rules; defaults when none were ever stored. Fails closed: a stored document that does
    not validate (an unknown or invalid field) keeps the rules this instance last read, or denies
    everything if it read none, and logs an error. It never falls back to the open defaults."""
    raw = store.get_global_config()
    try:
        if not isinstance(raw, dict):
            raise TypeError(f"the stored admin config is a {type(raw).__name__}, not an object")
        config = AdminConfig.model_validate(raw)
    except (ValidationError, TypeError) as err:
        with _last_good_lock:
            previous = _last_good.get(store)
        fallback = "keeping the rules read before" if previous is not None else "denying every connect and sync"
        log.error(
            "the stored admin config is invalid (%s); %s until an admin stores valid rules (PUT /admin/config)",
            "; ".join(f"{p.field}: {p.message}" for p in problems_of(err))
            if isinstance(err, ValidationError)
            else str(err),
            fallback,
            extra={"admin_config_invalid": True},
        )
        return previous if previous is not None else AdminConfig.deny_all()
    try:
        with _last_good_lock:
            _last_good[store] = config
    except TypeError:  # a store that cannot be weakly referenced: no memory of the last good rules
        pass
    return config


def parse_admin_config(data: Any) -> AdminConfig:
    """Validate an admin config document; InvalidInput names each bad field."""
    if not isinstance(data, dict):
        raise InvalidInput([FieldProblem("", "the body must be a JSON object")])
    try:
        return AdminConfig.model_validate(data)
    except ValidationError as err:
        raise InvalidInput(problems_of(err)) from None


def problems_of(err: ValidationError) -> list[FieldProblem]:
    """pydantic errors as field problems with dotted paths."""
    return [FieldProblem(".".join(str(p) for p in e["loc"]), e["msg"]) for e in err.errors()]
