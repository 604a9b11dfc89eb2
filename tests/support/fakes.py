"""In-memory fakes of the engine's ports that behave like the real sides:
change feeds with tokens, versions with conditional writes, idempotent creates,
tombstones, expired tokens and injected failures."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from crmsync.errors import TransientError
from crmsync.model.kinds import Kind
from crmsync.model.link import Canon
from crmsync.ports import Change, Listing, WriteOp, WriteResult


@dataclass
class _Rec:
    canon: Canon
    version: int
    updated_at: datetime
    hint: str | None = None
    in_scope: bool = True


@dataclass
class FakeSide:
    """One side (CRM or Google) of one kind, in memory."""

    kind: Kind = Kind.CONTACTS
    prefix: str = "g"
    records: dict[str, _Rec] = field(default_factory=dict)
    log: list[tuple[int, str]] = field(default_factory=list)
    seq: int = 0
    calls: dict[str, int] = field(default_factory=dict)
    expired_below: int = -1  # tokens at or below this sequence are expired
    idempotency: dict[str, str] = field(default_factory=dict)
    fail_calls: list[str] = field(default_factory=list)  # method names that raise TransientError once each
    crash_after_writes: int | None = None  # raise after this many successful item writes
    # Records (by a canonical field value) an adapter cannot write: a call holding one raises a
    # non-transient error for the whole batch, as an adapter bug or an odd value would.
    unwritable: set[str] = field(default_factory=set)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    clock: datetime = field(default_factory=lambda: datetime(2026, 11, 1, tzinfo=UTC))

    # ------------------------------------------------------------ direct edits (the "user")

    def tick(self) -> datetime:
        self.clock += timedelta(seconds=1)
        return self.clock

    def _touch(self, rid: str) -> None:
        self.seq += 1
        self.log.append((self.seq, rid))

    def put(self, canon: Canon, rid: str | None = None, hint: str | None = None) -> str:
        """A user creates or overwrites a record."""
        rid = rid or f"{self.prefix}{next(self._ids)}"
        old = self.records.get(rid)
        self.records[rid] = _Rec(
            dict(canon), (old.version + 1) if old else 1, self.tick(), hint or (old.hint if old else None)
        )
        self._touch(rid)
        return rid

    def edit(self, rid: str, **fields: object) -> None:
        rec = self.records[rid]
        self.put({**rec.canon, **fields}, rid)

    def remove(self, rid: str) -> None:
        del self.records[rid]
        self._touch(rid)

    def set_scope(self, rid: str, in_scope: bool) -> None:
        self.records[rid].in_scope = in_scope
        self.records[rid].version += 1
        self._touch(rid)

    # ------------------------------------------------------------ the port

    def _call(self, name: str) -> None:
        self.calls[name] = self.calls.get(name, 0) + 1
        if name in self.fail_calls:
            self.fail_calls.remove(name)
            raise TransientError(f"injected failure of {name}", retry_after=1)

    def _change(self, rid: str) -> Change:
        rec = self.records.get(rid)
        if rec is None:
            return Change(rid, None)
        return Change(rid, dict(rec.canon), rec.updated_at, str(rec.version), rec.in_scope, rec.hint)

    def list_changes(self, token: str | None) -> Listing:
        self._call("list")
        if token is not None and int(token) > self.expired_below:
            after = int(token)
            ids = list(dict.fromkeys(rid for s, rid in self.log if s > after))
            return Listing([self._change(r) for r in ids], str(self.seq), full=False)
        return Listing([self._change(r) for r in self.records], str(self.seq), full=True)

    def expire_tokens(self) -> None:
        """Every sync token issued so far is expired."""
        self.expired_below = self.seq

    def get(self, ids: Sequence[str]) -> dict[str, Change]:
        self._call("get")
        return {i: self._change(i) for i in ids if i in self.records}

    def _crash_point(self) -> None:
        if self.crash_after_writes is not None:
            if self.crash_after_writes <= 0:
                self.crash_after_writes = None
                raise TransientError("injected crash mid-apply")
            self.crash_after_writes -= 1

    def _check_writable(self, ops: Sequence[WriteOp]) -> None:
        for op in ops:
            if any(isinstance(v, str) and v in self.unwritable for v in op.full.values()):
                raise ValueError(f"cannot build a body for {op.key}")

    def create(self, ops: Sequence[WriteOp]) -> list[WriteResult]:
        self._call("create")
        self._check_writable(ops)
        out = []
        for op in ops:
            self._crash_point()
            if op.key in self.idempotency and self.idempotency[op.key] in self.records:
                rid = self.idempotency[op.key]  # a replay returns the original record
            else:
                rid = self.put(op.full, hint=op.crm_id)
                self.idempotency[op.key] = rid
            rec = self.records[rid]
            out.append(WriteResult(op.key, True, rid, str(rec.version), dict(rec.canon)))
        return out

    def update(self, ops: Sequence[WriteOp]) -> list[WriteResult]:
        self._call("update")
        self._check_writable(ops)
        out = []
        for op in ops:
            assert op.target_id is not None
            rec = self.records.get(op.target_id)
            if rec is None:
                # Gone since it was read: a conflict, as every adapter answers it (re-read, then the delete rule).
                out.append(WriteResult(op.key, False, conflict=True, error="deleted since it was read"))
                continue
            if op.version is not None and op.version != str(rec.version):
                out.append(WriteResult(op.key, False, conflict=True, error="version mismatch"))
                continue
            self._crash_point()
            self.put({**rec.canon, **op.fields}, op.target_id, hint=op.crm_id)  # a new CRM id, if given
            rec = self.records[op.target_id]
            out.append(WriteResult(op.key, True, op.target_id, str(rec.version), dict(rec.canon)))
        return out

    def delete(self, ops: Sequence[WriteOp]) -> list[WriteResult]:
        self._call("delete")
        out = []
        for op in ops:
            assert op.target_id is not None
            rec = self.records.get(op.target_id)
            if rec is not None and op.version is not None and op.version != str(rec.version):
                # Conditional, as every adapter's delete is (If-Match; People by an etag probe).
                out.append(WriteResult(op.key, False, conflict=True, error="version mismatch"))
                continue
            self._crash_point()
            if op.target_id in self.records:
                self.remove(op.target_id)
            out.append(WriteResult(op.key, True, op.target_id))
        return out

    def live(self) -> dict[str, Canon]:
        """Every record's canonical form, by id."""
        return {rid: rec.canon for rid, rec in self.records.items()}
