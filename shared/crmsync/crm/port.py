"""The CRM connector port: what the sync engine needs from a CRM, and the errors it can raise."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from pydantic import BaseModel

from ..errors import SafetyStop
from ..model.custom import CrmField
from .models import Capabilities, Company, Kind, Record, User
from .notifications import Notification
from .validation import FieldError

ChangeType = Literal["upsert", "delete", "out_of_scope"]
RecordInput = Mapping[str, Any] | BaseModel


class CrmError(Exception):
    """Any failure talking to the CRM; ``status`` is the HTTP status (0 when there was none)."""

    def __init__(self, message: str, *, status: int = 0, problem: Mapping[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.problem: dict[str, Any] = dict(problem or {})


class CrmConflict(CrmError):
    """The If-Match version is stale (412); ``current_version`` is the record's version now."""

    def __init__(
        self, message: str, *, current_version: int, status: int = 412, problem: Mapping[str, Any] | None = None
    ) -> None:
        super().__init__(message, status=status, problem=problem)
        self.current_version = current_version


class CrmNotFound(CrmError):
    """No such record (or not visible to the acting user), or it was deleted."""


class CrmValidation(CrmError):
    """The request or record was rejected; ``errors`` point at the offending fields."""

    def __init__(
        self,
        message: str,
        *,
        errors: Sequence[FieldError] = (),
        status: int = 422,
        problem: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message, status=status, problem=problem)
        self.errors = list(errors)


class CrmCursorExpired(CrmValidation):
    """The CRM can no longer serve the feed from this cursor (problem type ``cursor-expired``, or a
    400 pointing at ``/cursor``): read the feed again from the start and reconcile against the links."""


class CrmIdempotencyReuse(CrmValidation):
    """An Idempotency-Key was reused with a different request body."""

    @property
    def record_id(self) -> str | None:
        """The record the key created, when the CRM says (the caller owns it)."""
        value = self.problem.get("record_id")
        return str(value) if value else None

    @property
    def original(self) -> dict[str, Any] | None:
        """The record as the key created it, when the CRM says (the caller owns it)."""
        value = self.problem.get("record")
        return dict(value) if isinstance(value, Mapping) else None


class CrmAuthError(CrmError):
    """Missing or wrong API key (401), or the acting user may not do this (403)."""


class CrmContractError(CrmError, SafetyStop):
    """A CRM reply that does not match the CRM Sync API contract (a misspelt, missing or mistyped
    field, a malformed feed page); ``errors`` point into the reply. Never read as an empty value: the
    kind stops for this run (a ``SafetyStop``) and its cursor stays, so nothing is written from a
    misread reply and the same changes are read again once the server is fixed."""

    def __init__(self, message: str, *, errors: Sequence[FieldError] = (), status: int = 0) -> None:
        super().__init__(message, status=status)
        self.errors = list(errors)


class CrmTransient(CrmError):
    """Worth retrying later: 429, 5xx, timeouts, dropped connections."""

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = None,
        status: int = 0,
        problem: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message, status=status, problem=problem)
        self.retry_after = retry_after


@dataclass(frozen=True)
class Change:
    """One entry of a change feed: the record's latest state, a tombstone, or a scope exit."""

    kind: Kind
    id: str
    change: ChangeType
    version: int
    updated_at: str
    record: Record | None = None


@dataclass(frozen=True)
class ChangePage:
    """A page of a change feed; store ``next_cursor`` only after applying ``items``."""

    items: list[Change]
    next_cursor: str
    has_more: bool


@dataclass(frozen=True)
class BulkCreate:
    record: RecordInput
    idempotency_key: str


@dataclass(frozen=True)
class BulkUpdate:
    id: str
    if_match: int
    patch: Mapping[str, Any]


@dataclass(frozen=True)
class BulkDelete:
    id: str
    if_match: int


BulkOp = BulkCreate | BulkUpdate | BulkDelete


@dataclass(frozen=True)
class BulkResult:
    """The outcome of one bulk operation, in request order."""

    index: int
    status: int
    record: Record | None = None
    error: CrmError | None = field(default=None)
    # A create answered with the record its key made before, with another body (see crm/converge.py):
    # ``record`` is that record as first created.
    replayed_other: bool = False
    # A create answered with the record its key made before, as it is now (the CRM did not say how
    # it was first created): its content is not what was sent; the caller re-reads and merges.
    unconfirmed: bool = False

    @property
    def ok(self) -> bool:
        """True when the operation was applied (2xx)."""
        return 200 <= self.status < 300


class CrmConnector(Protocol):
    """A CRM as the sync engine sees it. ``on_behalf_of`` applies that CRM user's visibility rules."""

    def changes(
        self,
        kind: Kind,
        cursor: str | None,
        *,
        limit: int = 1000,
        owner_id: str | None = None,
        tag: str | None = None,
        on_behalf_of: str | None = None,
    ) -> ChangePage:
        """Changes after ``cursor`` (None: from the beginning) in commit order."""
        ...

    def get(self, kind: Kind, record_id: str, *, on_behalf_of: str | None = None) -> Record:
        """One record; CrmNotFound when missing, deleted or not visible."""
        ...

    def get_many(self, kind: Kind, ids: Sequence[str], *, on_behalf_of: str | None = None) -> list[Record]:
        """The records that exist and are visible among ``ids`` (at most 1000), in the order asked."""
        ...

    def create(
        self, kind: Kind, record: RecordInput, idempotency_key: str, *, on_behalf_of: str | None = None
    ) -> Record:
        """Create once: a replay with the same key returns the original record."""
        ...

    def update(
        self, kind: Kind, record_id: str, patch: Mapping[str, Any], if_match: int, *, on_behalf_of: str | None = None
    ) -> Record:
        """Change the given top-level fields if the record is still at version ``if_match``."""
        ...

    def delete(self, kind: Kind, record_id: str, if_match: int, *, on_behalf_of: str | None = None) -> None:
        """Delete if the record is still at version ``if_match``; it stays in the feed as a tombstone."""
        ...

    def bulk(self, kind: Kind, ops: Sequence[BulkOp], *, on_behalf_of: str | None = None) -> list[BulkResult]:
        """Up to 500 creates/updates/deletes, one result per operation."""
        ...

    def user(self, user_id: str) -> User:
        """A CRM user by id; CrmNotFound if unknown."""
        ...

    def user_by_email(self, email: str) -> User | None:
        """A CRM user by e-mail (case-insensitive), or None."""
        ...

    def find_companies(self, *, name: str | None = None, domain: str | None = None) -> list[Company]:
        """Companies whose name (case-insensitive) or domain equals the one given."""
        ...

    def capabilities(self) -> Capabilities:
        """What the CRM declares it offers (all of v1 when it declares nothing)."""
        ...

    def fields(self, kind: Kind) -> list[CrmField]:
        """The custom fields the CRM declares for ``kind`` (none unless its capabilities say
        ``custom_fields``)."""
        ...

    def notify(self, notification: Notification) -> None:
        """``POST /notifications``: tell the CRM its user is needed (idempotent by the notification's id)."""
        ...


def record_body(record: RecordInput) -> dict[str, Any]:
    """A record input as the JSON object sent to the CRM."""
    if isinstance(record, BaseModel):
        return record.model_dump(mode="json", exclude_unset=True)
    return dict(record)
