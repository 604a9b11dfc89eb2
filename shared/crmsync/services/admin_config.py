"""The global rules the CRM admin sets (stored as the store's global config) and how they apply."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from crmsync.crm.models import User
from crmsync.model.kinds import Kind
from crmsync.model.settings import Direction, SyncSettings
from crmsync.services.errors import FieldProblem, InvalidInput
from crmsync.store.contract import StateStore


class ConnectMode(StrEnum):
    ALL = "all"  # every active CRM user may connect
    USERS = "users"  # only the listed user ids
    ROLES = "roles"  # only users with one of the listed roles


class ConnectPolicy(BaseModel):
    """Which CRM users may connect."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    mode: ConnectMode = ConnectMode.ALL
    user_ids: list[str] = Field(default_factory=list)
    roles: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _needs_members(self) -> ConnectPolicy:
        if self.mode is ConnectMode.USERS and not self.user_ids:
            raise ValueError("mode 'users' needs at least one entry in user_ids")
        if self.mode is ConnectMode.ROLES and not self.roles:
            raise ValueError("mode 'roles' needs at least one entry in roles")
        return self

    def allows(self, user: User) -> bool:
        """Whether this CRM user may connect."""
        if not user.active:
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


class AdminConfig(BaseModel):
    """Global rules. ``sync_enabled`` False pauses every sync at once."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sync_enabled: bool = True
    kinds: KindSwitches = KindSwitches()
    allowed_directions: list[Direction] = Field(default_factory=lambda: list(Direction), min_length=1)
    connect: ConnectPolicy = ConnectPolicy()
    users_may_edit: bool = True
    defaults: SyncSettings = SyncSettings()

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


def load_admin_config(store: StateStore) -> AdminConfig:
    """The stored rules (defaults when none are stored or the stored form no longer validates)."""
    raw = store.get_global_config()
    try:
        return AdminConfig.model_validate(raw)
    except ValidationError:
        # A config stored by an older version must not take the site down; defaults are the safe reading.
        return AdminConfig()


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
