"""Batched People writes with per-contact isolation.

People batch mutations are all-or-nothing: one stale etag (or one unknown
contact in a delete, or one invalid value) fails the whole request and nothing
is written (Google documents ``BatchUpdateContactsErrorDetails`` listing the
contacts that failed; the emulator does the same without the details). On such
a failure the batch is split: contacts Google names, or that a
``getBatchGet`` probe shows as stale or gone, get their own result, the rest
are sent again as one batch, and if that fails too each is sent alone.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from ..ports import Change, WriteOp, WriteResult
from .errors import BadRequest, EtagMismatch, GoogleError, NotFound
from .people_groups import GroupDirectory
from .people_mapping import READ_MASK
from .people_models import Person
from .write_results import changed_since_read, gone_since_read


class PeopleHost(Protocol):
    """What the writes need of the People side (``people.GooglePeople`` is one), so this module
    does not import it back."""

    service: Any
    groups: GroupDirectory

    def call(self, method: str, request: Callable[[], Any]) -> dict[str, Any]: ...

    def to_change(self, item: dict[str, Any], scope: str | None, tags: dict[str, str] | None) -> Change: ...

    def tag_map(self) -> dict[str, str] | None: ...

    def fetch(self, ids: Sequence[str], mask: str) -> dict[str, dict[str, Any]]: ...

    def current(self, ops: Sequence[WriteOp]) -> dict[str, dict[str, Any]]: ...

    def create_body(self, op: WriteOp) -> dict[str, Any]: ...

    def update_mask(self, ops: Sequence[WriteOp]) -> list[str]: ...

    def update_body(
        self, op: WriteOp, mask: Sequence[str], current: dict[str, Any] | None = None
    ) -> dict[str, Any]: ...


MAX_CREATE = 200
MAX_UPDATE = 200
MAX_DELETE = 500
PROBE_MASK = "metadata"
PERMANENT = (BadRequest, EtagMismatch, NotFound)
CONTACT = "the contact"
# Google publishes no per-contact size for People, nor the words of its refusal: a contact refused
# with a 400 that speaks of size, or whose values reach this assumed figure, is named too large.
ASSUMED_MAX_CONTACT_BYTES = 128 * 1024
_SIZE_WORDS = ("too large", "too big", "too long", "size")


def _chunks(ops: Sequence[WriteOp], size: int) -> list[Sequence[WriteOp]]:
    return [ops[i : i + size] for i in range(0, len(ops), size)]


def _contact_errors(err: GoogleError) -> dict[str, dict[str, Any]]:
    """Per-contact statuses from a BatchUpdateContactsErrorDetails detail, when Google sends one."""
    for detail in err.details:
        errors = detail.get("contactErrors")
        if isinstance(errors, dict):
            return {str(k): v for k, v in errors.items() if isinstance(v, dict)}
    return {}


class WriteBatches:
    """create/update/delete of the People side, one request at a time."""

    def __init__(self, people: PeopleHost) -> None:
        self.p = people

    def _ok(self, op: WriteOp, person: dict[str, Any] | None) -> WriteResult:
        if not person:
            return WriteResult(op.key, True, id=op.target_id, version=op.version)
        change = self.p.to_change(person, self.p.groups.scope(create=False), self.p.tag_map())
        return WriteResult(op.key, True, id=change.id, version=change.version, canon=change.canon)

    # ------------------------------------------------------------------ create

    def create(self, ops: Sequence[WriteOp]) -> list[WriteResult]:
        results: list[WriteResult] = []
        for part in _chunks(ops, MAX_CREATE):
            results += self._create_batch(part)
        return results

    def _create_batch(self, ops: Sequence[WriteOp]) -> list[WriteResult]:
        people = self.p.service.people()
        body = {"contacts": [{"contactPerson": self.p.create_body(op)} for op in ops], "readMask": READ_MASK}
        try:
            resp = self.p.call("people.batchCreateContacts", lambda: people.batchCreateContacts(body=body))
        except PERMANENT:
            return [self._create_one(op) for op in ops]  # one bad contact fails the batch: send each alone
        created = resp.get("createdPeople") or []
        out = []
        for op, item in zip(ops, created + [{}] * (len(ops) - len(created)), strict=True):
            status = int(item.get("httpStatusCode") or 0)
            if status == 200 and item.get("person"):
                out.append(self._ok(op, item["person"]))
            else:
                message = (item.get("status") or {}).get("message") or f"HTTP {status or 'missing result'}"
                out.append(WriteResult(op.key, False, error=f"create failed: {message}"))
        return out

    def _create_one(self, op: WriteOp) -> WriteResult:
        people = self.p.service.people()
        body = self.p.create_body(op)
        try:
            person = self.p.call(
                "people.createContact", lambda: people.createContact(body=body, personFields=READ_MASK)
            )
        except PERMANENT as err:
            return WriteResult(op.key, False, error=refusal(err, body))
        return self._ok(op, person)

    # ------------------------------------------------------------------ update

    def update(self, ops: Sequence[WriteOp]) -> list[WriteResult]:
        results: dict[int, WriteResult] = {}
        for part in _chunks(list(ops), MAX_UPDATE):
            for op, res in zip(part, self._update_batch(part), strict=True):
                results[id(op)] = res
        return [results[id(op)] for op in ops]

    def _send_update(self, ops: Sequence[WriteOp], mask: list[str]) -> dict[str, Any]:
        people = self.p.service.people()
        current = self.p.current(ops)
        body = {
            "contacts": {str(op.target_id): self.p.update_body(op, mask, current.get(str(op.target_id))) for op in ops},
            "updateMask": ",".join(mask),
            "readMask": READ_MASK,
        }
        return self.p.call("people.batchUpdateContacts", lambda: people.batchUpdateContacts(body=body))

    def _update_batch(self, ops: Sequence[WriteOp]) -> list[WriteResult]:
        """One batch per update mask: each contact is written only in the fields it changed (a
        union mask would rewrite its neighbours' other fields from crmsync's canonical form)."""
        done: dict[str, WriteResult] = {}
        by_mask: dict[tuple[str, ...], list[WriteOp]] = {}
        for op in ops:
            mask = tuple(self.p.update_mask([op]))
            if not mask:
                done[op.key] = WriteResult(op.key, True, id=op.target_id, version=op.version)  # nothing Google holds
            else:
                by_mask.setdefault(mask, []).append(op)
        for mask, todo in by_mask.items():
            done.update(self._update_isolating(todo, list(mask)))
        return [done[op.key] for op in ops]

    def _update_isolating(self, ops: Sequence[WriteOp], mask: list[str]) -> dict[str, WriteResult]:
        try:
            resp = self._send_update(ops, mask)
        except PERMANENT as err:
            failed = self._update_failures(ops, err)
            rest = [op for op in ops if op.key not in failed]
            if not rest:
                return failed
            try:
                resp = self._send_update(rest, mask)
            except PERMANENT:
                return {**failed, **{op.key: self._update_one(op) for op in rest}}
            return {**failed, **self._update_results(rest, resp)}
        return self._update_results(ops, resp)

    def _update_results(self, ops: Sequence[WriteOp], resp: dict[str, Any]) -> dict[str, WriteResult]:
        result = resp.get("updateResult") or {}
        out = {}
        for op in ops:
            item = result.get(str(op.target_id)) or {}
            status = int(item.get("httpStatusCode") or 200)
            if status == 200:
                out[op.key] = self._ok(op, item.get("person"))
            elif status == 404:
                out[op.key] = gone_since_read(op.key, CONTACT)
            else:
                message = (item.get("status") or {}).get("message") or f"HTTP {item.get('httpStatusCode')}"
                out[op.key] = WriteResult(op.key, False, error=f"update failed: {message}")
        return out

    def _update_failures(self, ops: Sequence[WriteOp], err: GoogleError) -> dict[str, WriteResult]:
        """The ops that cannot be written as they are: named by Google, or stale/gone by a probe."""
        named = _contact_errors(err)
        if named:
            out = {}
            for op in ops:
                status = named.get(str(op.target_id))
                if status is None:
                    continue
                message, code = str(status.get("message") or status), int(status.get("code") or 0)
                if code == 5:  # NOT_FOUND: deleted since it was read
                    out[op.key] = gone_since_read(op.key, CONTACT)
                else:
                    conflict = code == 9 or "etag" in message.lower()  # 9: FAILED_PRECONDITION
                    out[op.key] = WriteResult(op.key, False, error=message, conflict=conflict)
            return out
        current = self.p.fetch([str(op.target_id) for op in ops], PROBE_MASK)
        out = {}
        for op in ops:
            person = current.get(str(op.target_id))
            if person is None:
                out[op.key] = gone_since_read(op.key, CONTACT)
            elif _moved(op, person):
                out[op.key] = changed_since_read(op.key)
        return out

    def _update_one(self, op: WriteOp) -> WriteResult:
        people = self.p.service.people()
        mask = self.p.update_mask([op])
        body = self.p.update_body(op, mask, self.p.current([op]).get(str(op.target_id)))
        try:
            person = self.p.call(
                "people.updateContact",
                lambda: people.updateContact(
                    resourceName=op.target_id, updatePersonFields=",".join(mask), personFields=READ_MASK, body=body
                ),
            )
        except EtagMismatch as err:
            return WriteResult(op.key, False, error=str(err), conflict=True)
        except NotFound:
            return gone_since_read(op.key, CONTACT)
        except PERMANENT as err:
            return WriteResult(op.key, False, error=refusal(err, body))
        return self._ok(op, person)

    # ------------------------------------------------------------------ delete

    def delete(self, ops: Sequence[WriteOp]) -> list[WriteResult]:
        results: list[WriteResult] = []
        for part in _chunks(ops, MAX_DELETE):
            results += self._delete_batch(part)
        return results

    def _send_delete(self, names: list[str]) -> None:
        people = self.p.service.people()
        self.p.call("people.batchDeleteContacts", lambda: people.batchDeleteContacts(body={"resourceNames": names}))

    def _delete_batch(self, ops: Sequence[WriteOp]) -> list[WriteResult]:
        stale = self._stale_deletes(ops)
        ops = [op for op in ops if op.key not in stale]
        names = list(dict.fromkeys(str(op.target_id) for op in ops))
        if not names:
            return list(stale.values())
        errors: dict[str, str] = {}
        try:
            self._send_delete(names)
        except PERMANENT:
            existing = set(self.p.fetch(names, PROBE_MASK))
            rest = [n for n in names if n in existing]  # the others are gone already: deleted is deleted
            if rest:
                try:
                    self._send_delete(rest)
                except PERMANENT:
                    errors = {n: e for n in rest if (e := self._delete_one(n))}
        return [
            *stale.values(),
            *(
                WriteResult(op.key, False, error=errors[str(op.target_id)])
                if str(op.target_id) in errors
                else WriteResult(op.key, True, id=op.target_id)
                for op in ops
            ),
        ]

    def _stale_deletes(self, ops: Sequence[WriteOp]) -> dict[str, WriteResult]:
        """Deletes of contacts whose etag moved since the engine read them, answered as conflicts.

        People's delete takes no etag, and its sync listings lag its writes by minutes: a contact
        the user just edited can still be listed as it was. One ``getBatchGet`` (read-after-write)
        of the ops that carry the version they expect makes the delete conditional, as Calendar's
        and Tasks' If-Match deletes are, so an edit the engine has not seen yet is never deleted."""
        expecting = [op for op in ops if op.version is not None]
        if not expecting:
            return {}
        current = self.p.fetch([str(op.target_id) for op in expecting], PROBE_MASK)
        out: dict[str, WriteResult] = {}
        for op in expecting:
            person = current.get(str(op.target_id))
            if person is not None and _moved(op, person):
                out[op.key] = changed_since_read(op.key)
        return out

    def _delete_one(self, name: str) -> str | None:
        people = self.p.service.people()
        try:
            self.p.call("people.deleteContact", lambda: people.deleteContact(resourceName=name))
        except NotFound:
            return None
        except PERMANENT as err:
            return str(err)
        return None


def refusal(err: GoogleError, body: dict[str, Any]) -> str:
    """Why Google refused one contact, in plain words: too large (what to do about it), or Google's message."""
    values = {k: v for k, v in body.items() if k not in ("etag", "memberships", "metadata", "resourceName")}
    size = len(json.dumps(values, ensure_ascii=False, separators=(",", ":")).encode())
    if isinstance(err, BadRequest) and (
        size >= ASSUMED_MAX_CONTACT_BYTES or any(w in str(err).lower() for w in _SIZE_WORDS)
    ):
        return (
            f"Google Contacts refused this contact as too large ({size // 1024 or 1} kB of contact data; Google "
            "publishes no limit, about 128 kB is assumed): shorten its notes or other long fields in the CRM; "
            f"it is tried again each run (Google: {err})"
        )
    return str(err)


def _moved(op: WriteOp, person: dict[str, Any]) -> bool:
    """Whether the contact's etag is no longer the one the op was planned on."""
    return Person.model_validate(person).etag != op.version
