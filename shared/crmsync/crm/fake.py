"""An in-memory CRM with the CRM Sync API's semantics, for unit tests (the contract suite runs it too)."""

from __future__ import annotations

import copy
import threading
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..model.custom import CrmField
from . import semantics as sem
from .custom_fields import sent_errors
from .models import Capabilities, Company, Kind, Record, User
from .notifications import Notification
from .port import (
    BulkCreate,
    BulkDelete,
    BulkOp,
    BulkResult,
    BulkUpdate,
    Change,
    ChangePage,
    CrmAuthError,
    CrmConflict,
    CrmCursorExpired,
    CrmError,
    CrmIdempotencyReuse,
    CrmNotFound,
    CrmValidation,
    RecordInput,
    record_body,
)
from .replies import parse_record
from .validation import FieldError, validate_patch, validate_record

_PREFIX = {"contacts": "con_", "companies": "cmp_", "activities": "act_", "tasks": "tsk_"}


@dataclass
class _Row:
    seq: int
    version: int
    data: dict[str, Any]
    created_at: str
    updated_at: str
    deleted: bool = False
    ever: set[str] = field(default_factory=set)  # every scope key the record ever had

    def json(self, rid: str) -> dict[str, Any]:
        return {
            "id": rid,
            "version": self.version,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            **copy.deepcopy(self.data),
        }


class FakeCrm:
    """``CrmConnector`` in memory; thread-safe. ``add_user`` seeds users, ``calls`` counts operations."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._seq = 0
        self._rows: dict[tuple[str, str], _Row] = {}
        self._idem: dict[tuple[str, str], tuple[str, dict[str, Any]]] = {}
        self._users: dict[str, User] = {}
        self.calls = 0
        self.caps = Capabilities(notifications=True)  # what this CRM declares; tests narrow it
        self.custom: dict[str, list[CrmField]] = {}  # custom fields per CRM kind (see ``declare_fields``)
        self.notifications: dict[str, Notification] = {}  # received, by id (a retry is the same one)

    def declare_fields(self, fields: Mapping[str, list[CrmField]]) -> None:
        """Give the CRM custom fields (and declare them in its capabilities)."""
        with self._lock:
            self.custom = {k: list(v) for k, v in fields.items()}
            self.caps = self.caps.model_copy(update={"custom_fields": True})

    def add_user(self, email: str, name: str, role: str = "user", user_id: str | None = None) -> User:
        """Create a CRM user."""
        user = User.model_validate(
            {"id": user_id or "usr_" + uuid.uuid4().hex[:12], "email": email, "name": name, "role": role}
        )
        with self._lock:
            self._users[user.id] = user
        return user

    def set_user_active(self, user_id: str, active: bool) -> None:
        """Deactivate (or reactivate) a CRM user, as a CRM admin does when someone leaves."""
        with self._lock:
            self._users[user_id] = self._users[user_id].model_copy(update={"active": active})

    def remove_user(self, user_id: str) -> None:
        """Delete a CRM user (lookups answer 404 from now on)."""
        with self._lock:
            self._users.pop(user_id, None)

    # -- helpers ---------------------------------------------------------------------------------
    def _actor(self, user_id: str | None) -> User | None:
        self.calls += 1
        if user_id is None:
            return None
        user = self._users.get(user_id)
        if user is None or not user.active:
            raise CrmAuthError(f"CRM 403: X-CRM-User names no active CRM user ({user_id!r})", status=403)
        return user

    @staticmethod
    def _visibility(actor: User | None) -> set[str] | None:
        return None if actor is None or actor.role == "admin" else sem.visibility_keys(actor.id, actor.email)

    def _load(self, kind: str, rid: str, actor: User | None) -> _Row:
        row = self._rows.get((kind, rid))
        vis = self._visibility(actor)
        if row is None or row.deleted or (vis is not None and not sem.scope_keys(kind, row.data) & vis):
            raise CrmNotFound(f"CRM 404: no {kind} record with id {rid!r}", status=404)
        return row

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def _check_refs(self, kind: str, data: dict[str, Any], actor: User | None, touched: set[str]) -> None:
        errors = []
        owner = data.get("owner_id")
        if "owner_id" in touched and owner is not None:
            if owner not in self._users:
                errors.append(FieldError("/owner_id", f"no CRM user with id {owner!r}"))
            elif actor is not None and actor.role != "admin" and owner != actor.id:
                raise CrmAuthError(f"CRM 403: user {actor.id!r} may only give records to themselves", status=403)
        company = data.get("company_id")
        if kind == "contacts" and "company_id" in touched and company is not None:
            row = self._rows.get(("companies", company))
            if row is None or row.deleted:
                errors.append(FieldError("/company_id", f"no company with id {company!r}"))
        if errors:
            raise CrmValidation("CRM 422: invalid record", errors=errors, status=422)

    def _parse(self, kind: str, rid: str, row: _Row) -> Record:
        return parse_record(kind, row.json(rid))

    # -- CrmConnector ----------------------------------------------------------------------------
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
        """Changes after ``cursor`` in commit order."""
        with self._lock:
            actor = self._actor(on_behalf_of)
            if not 1 <= limit <= sem.MAX_PAGE:
                raise CrmValidation(
                    f"CRM 400: limit must be 1 to {sem.MAX_PAGE}",
                    errors=[FieldError("/limit", "out of range")],
                    status=400,
                )
            flt = sem.FeedFilter(owner_id=owner_id, tag=tag, user_id=on_behalf_of)
            try:
                after = sem.decode_cursor(kind, flt, cursor)
            except sem.CursorError as err:
                raise CrmCursorExpired(f"CRM 400: {err}", errors=[FieldError("/cursor", str(err))], status=400) from err
            try:
                sem.check_cursor_alive(after, self._seq)
            except sem.CursorExpired as err:
                problem = {"type": "urn:crm-sync:problem:cursor-expired", "status": 410, "detail": str(err)}
                raise CrmCursorExpired(
                    f"CRM 410: {err}", errors=[FieldError("/cursor", "expired")], status=410, problem=problem
                ) from err
            required = sem.required_key_sets(flt, self._visibility(actor))
            rows = sorted(
                ((r.seq, rid, r) for (k, rid), r in self._rows.items() if k == kind and r.seq > after),
                key=lambda t: t[0],
            )
            rows = [t for t in rows if sem.in_scope(t[2].ever, required)]
            has_more = len(rows) > limit
            rows = rows[:limit]
            items = []
            for _seq, rid, row in rows:
                if row.deleted:
                    items.append(Change(kind, rid, "delete", row.version, row.updated_at))
                elif not sem.in_scope(sem.scope_keys(kind, row.data), required):
                    items.append(Change(kind, rid, "out_of_scope", row.version, row.updated_at))
                else:
                    items.append(Change(kind, rid, "upsert", row.version, row.updated_at, self._parse(kind, rid, row)))
            last = rows[-1][0] if has_more else self._seq
            return ChangePage(items=items, next_cursor=sem.encode_cursor(kind, flt, last), has_more=has_more)

    def get(self, kind: Kind, record_id: str, *, on_behalf_of: str | None = None) -> Record:
        """One live record."""
        with self._lock:
            return self._parse(kind, record_id, self._load(kind, record_id, self._actor(on_behalf_of)))

    def get_many(self, kind: Kind, ids: Sequence[str], *, on_behalf_of: str | None = None) -> list[Record]:
        """Live visible records among ``ids``."""
        with self._lock:
            actor = self._actor(on_behalf_of)
            if len(ids) > sem.MAX_PAGE:
                raise CrmValidation(
                    f"CRM 400: at most {sem.MAX_PAGE} ids", errors=[FieldError("/ids", "too many")], status=400
                )
            out = []
            for rid in dict.fromkeys(ids):
                try:
                    out.append(self._parse(kind, rid, self._load(kind, rid, actor)))
                except CrmNotFound:
                    continue
            return out

    def create(
        self, kind: Kind, record: RecordInput, idempotency_key: str, *, on_behalf_of: str | None = None
    ) -> Record:
        """Create once per idempotency key."""
        with self._lock:
            return parse_record(
                kind, self._create(kind, record_body(record), idempotency_key, self._actor(on_behalf_of))
            )

    def _create(self, kind: str, body: dict[str, Any], key: str, actor: User | None) -> dict[str, Any]:
        fingerprint = sem.request_fingerprint(body, actor.id if actor else None)
        seen = self._idem.get((kind, key))
        if seen is not None:
            if seen[0] != fingerprint:
                owned = actor is None or actor.role == "admin" or seen[1].get("owner_id") == actor.id
                raise CrmIdempotencyReuse(
                    "CRM 422: this Idempotency-Key was already used for a different request",
                    errors=[FieldError("", "Idempotency-Key reused with a different body")],
                    status=422,
                    problem={
                        "type": "urn:crm-sync:problem:idempotency-key-reused",
                        **({"record_id": seen[1]["id"], "record": copy.deepcopy(seen[1])} if owned else {}),
                    },
                )
            return copy.deepcopy(seen[1])
        clean, errors = validate_record(kind, body)
        if clean is not None:
            errors = sent_errors(kind, body, self.custom)
        if clean is None or errors:
            raise CrmValidation(f"CRM 422: the record has {len(errors)} invalid field(s)", errors=errors, status=422)
        if actor is not None and clean.get("owner_id") is None:
            clean["owner_id"] = actor.id
        self._check_refs(kind, clean, actor, set(clean))
        data = sem.finalise(kind, clean)
        now = sem.now_rfc3339()
        rid = _PREFIX[kind] + uuid.uuid4().hex[:20]
        row = _Row(self._next_seq(), 1, data, now, now, ever=sem.scope_keys(kind, data))
        self._rows[(kind, rid)] = row
        self._idem[(kind, key)] = (fingerprint, row.json(rid))
        return row.json(rid)

    def update(
        self, kind: Kind, record_id: str, patch: Mapping[str, Any], if_match: int, *, on_behalf_of: str | None = None
    ) -> Record:
        """Partial update guarded by the version."""
        with self._lock:
            return parse_record(kind, self._update(kind, record_id, dict(patch), if_match, self._actor(on_behalf_of)))

    def _update(self, kind: str, rid: str, patch: dict[str, Any], if_match: int, actor: User | None) -> dict[str, Any]:
        row = self._load(kind, rid, actor)
        if row.version != if_match:
            raise CrmConflict(
                f"CRM 412: the record is at version {row.version}, not {if_match}", current_version=row.version
            )
        clean, errors = validate_patch(kind, row.data, sem.prepare_patch(kind, patch))
        if clean is not None:
            errors = sent_errors(kind, patch, self.custom)
        if clean is None or errors:
            raise CrmValidation(f"CRM 422: the patch has {len(errors)} invalid field(s)", errors=errors, status=422)
        self._check_refs(kind, clean, actor, set(patch) & {"owner_id", "company_id"})
        row.data = sem.finalise(kind, clean)
        row.version += 1
        row.seq = self._next_seq()
        row.updated_at = sem.now_rfc3339()
        row.ever |= sem.scope_keys(kind, row.data)
        return row.json(rid)

    def delete(self, kind: Kind, record_id: str, if_match: int, *, on_behalf_of: str | None = None) -> None:
        """Delete guarded by the version; leaves a tombstone."""
        with self._lock:
            self._delete(kind, record_id, if_match, self._actor(on_behalf_of))

    def _delete(self, kind: str, rid: str, if_match: int, actor: User | None) -> None:
        row = self._load(kind, rid, actor)
        if row.version != if_match:
            raise CrmConflict(
                f"CRM 412: the record is at version {row.version}, not {if_match}", current_version=row.version
            )
        row.deleted, row.version, row.seq, row.updated_at = True, row.version + 1, self._next_seq(), sem.now_rfc3339()

    def bulk(self, kind: Kind, ops: Sequence[BulkOp], *, on_behalf_of: str | None = None) -> list[BulkResult]:
        """Up to 500 operations, each atomic, a result each."""
        with self._lock:
            actor = self._actor(on_behalf_of)
            if not 1 <= len(ops) <= sem.MAX_BULK:
                raise CrmValidation(
                    f"CRM {413 if ops else 400}: a bulk call takes 1 to {sem.MAX_BULK} operations, got {len(ops)}",
                    errors=[FieldError("/operations", f"1 to {sem.MAX_BULK} operations")],
                    status=413 if ops else 400,
                )
            results = []
            for index, op in enumerate(ops):
                try:
                    if isinstance(op, BulkCreate):
                        rec = self._create(kind, record_body(op.record), op.idempotency_key, actor)
                        results.append(BulkResult(index, 201, parse_record(kind, rec)))
                    elif isinstance(op, BulkUpdate):
                        rec = self._update(kind, op.id, dict(op.patch), op.if_match, actor)
                        results.append(BulkResult(index, 200, parse_record(kind, rec)))
                    elif isinstance(op, BulkDelete):
                        self._delete(kind, op.id, op.if_match, actor)
                        results.append(BulkResult(index, 204))
                except CrmError as err:
                    results.append(BulkResult(index, err.status, error=err))
            return results

    def user(self, user_id: str) -> User:
        """A CRM user by id."""
        with self._lock:
            self.calls += 1
            if user_id not in self._users:
                raise CrmNotFound(f"CRM 404: no CRM user with id {user_id!r}", status=404)
            return self._users[user_id]

    def user_by_email(self, email: str) -> User | None:
        """A CRM user by e-mail, case-insensitive."""
        with self._lock:
            self.calls += 1
            wanted = email.strip().lower()
            return next((u for u in self._users.values() if u.email.lower() == wanted), None)

    def find_companies(self, *, name: str | None = None, domain: str | None = None) -> list[Company]:
        """Companies by exact name or domain (case-insensitive)."""
        with self._lock:
            self.calls += 1
            if not name and not domain:
                raise CrmValidation("give a company name or domain to look up", status=400)
            out = []
            for (kind, rid), row in sorted(self._rows.items()):
                if kind != "companies" or row.deleted:
                    continue
                if (name and str(row.data.get("name", "")).strip().lower() == name.strip().lower()) or (
                    not name and domain and str(row.data.get("domain") or "").lower() == domain.strip().lower()
                ):
                    out.append(Company.model_validate(row.json(rid)))
            return out

    def capabilities(self) -> Capabilities:
        """What this CRM declares (``caps``)."""
        return self.caps

    def fields(self, kind: Kind) -> list[CrmField]:
        """The custom fields declared for ``kind``."""
        with self._lock:
            self.calls += 1
            return list(self.custom.get(kind, [])) if self.caps.custom_fields else []

    def notify(self, notification: Notification) -> None:
        """Keep the notification once (the reference CRM's ``POST /notifications``)."""
        with self._lock:
            self.calls += 1
            if not self.caps.notifications:
                raise CrmNotFound("no endpoint at /notifications (not declared in the capabilities)", status=404)
            self.notifications.setdefault(notification.id, notification)
