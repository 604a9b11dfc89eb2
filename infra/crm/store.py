"""The reference CRM's records on SQLite: change feed, idempotent create, conditional update/delete, bulk."""

from __future__ import annotations

import json
import sqlite3
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from crmsync.crm import semantics as sem
from crmsync.crm.custom_fields import REFERENCE_FIELDS, custom_errors, sent_errors
from crmsync.crm.models import CUSTOM_KINDS, User
from crmsync.crm.validation import FieldError, validate_patch, validate_record
from crmsync.model.custom import CrmField

from . import problems as P
from .checks import check_bulk_op, check_refs
from .db import Database, current_seq, next_seq

ID_PREFIX = {"contacts": "con_", "companies": "cmp_", "activities": "act_", "tasks": "tsk_"}
_COLUMNS = "id, seq, version, deleted, data, keys, created_at, updated_at"


def new_id(kind: str) -> str:
    """A fresh record id such as ``con_3f2a...``."""
    return ID_PREFIX[kind] + uuid.uuid4().hex[:20]


def record_json(row: sqlite3.Row | tuple[Any, ...]) -> dict[str, Any]:
    """The API shape of a stored record row."""
    rid, _seq, version, _deleted, data, _keys, created, updated = row
    return {"id": rid, "version": version, "created_at": created, "updated_at": updated, **json.loads(data)}


class CrmStore:
    """All record operations; raises ``Problem`` for anything the client did wrong."""

    def __init__(self, path: str | Path, fields: dict[str, list[CrmField]] | None = None) -> None:
        self.db = Database(path)
        self.fields = REFERENCE_FIELDS if fields is None else fields  # custom fields per kind
        self.recurrence_exceptions = True  # False plays a CRM that keeps no per-occurrence exceptions
        self.key_retention: timedelta | None = None  # None keeps Idempotency-Keys forever; else forgets them

    def custom_fields(self, kind: str) -> list[dict[str, Any]]:
        """``GET /{kind}/fields``: the custom fields of ``kind``."""
        return [f.model_dump() for f in self.fields.get(kind, [])]

    def close(self) -> None:
        """Close the database."""
        self.db.close()

    # -- users -----------------------------------------------------------------------------------
    def add_user(self, email: str, name: str, role: str = "user", user_id: str | None = None) -> User:
        """Create a CRM user (seeding and tests; the API has no user writes)."""
        user = User(id=user_id or "usr_" + uuid.uuid4().hex[:12], email=email, name=name, role=role)  # type: ignore[arg-type]
        with self.db.write() as conn:
            conn.execute(
                "INSERT INTO users (id, email, email_lc, name, role) VALUES (?, ?, ?, ?, ?)",
                (user.id, user.email, user.email.lower(), user.name, user.role),
            )
        return user

    def user(self, user_id: str) -> User | None:
        """A user by id."""
        with self.db.read() as conn:
            row = conn.execute("SELECT id, email, name, role, active FROM users WHERE id = ?", (user_id,)).fetchone()
        return _user(row)

    def user_by_email(self, email: str) -> User | None:
        """A user by e-mail, case-insensitive."""
        with self.db.read() as conn:
            row = conn.execute(
                "SELECT id, email, name, role, active FROM users WHERE email_lc = ?", (email.strip().lower(),)
            ).fetchone()
        return _user(row)

    def users(self) -> list[User]:
        """Every user."""
        with self.db.read() as conn:
            rows = conn.execute("SELECT id, email, name, role, active FROM users ORDER BY id").fetchall()
        return [u for u in map(_user, rows) if u]

    # -- reads -----------------------------------------------------------------------------------
    def changes(self, kind: str, cursor: str | None, limit: int, flt: sem.FeedFilter, actor: User | None) -> bytes:
        """One page of the change feed, as the JSON bytes of the response."""
        try:
            after = sem.decode_cursor(kind, flt, cursor)
        except sem.CursorError as err:
            raise P.bad_request(str(err), "/cursor") from err
        required = sem.required_key_sets(flt, _visibility(actor))
        sql = f"SELECT {_COLUMNS} FROM records r WHERE kind = ? AND seq > ?"
        args: list[Any] = [kind, after]
        for keys in required:
            marks = ",".join("?" * len(keys))
            sql += f" AND EXISTS (SELECT 1 FROM scope s WHERE s.kind = r.kind AND s.id = r.id AND s.key IN ({marks}))"
            args += sorted(keys)
        sql += " ORDER BY seq LIMIT ?"
        args.append(limit + 1)
        with self.db.read() as conn:
            head = current_seq(conn)
            try:
                sem.check_cursor_alive(after, head)
            except sem.CursorExpired as err:
                raise P.cursor_expired(str(err)) from err
            rows = conn.execute(sql, args).fetchall()
        has_more = len(rows) > limit
        rows = rows[:limit]
        items = [_change(row, required) for row in rows]
        last = rows[-1][1] if has_more else head
        tail = f'],"next_cursor":"{sem.encode_cursor(kind, flt, last)}","has_more":{"true" if has_more else "false"}}}'
        return ('{"items":[' + ",".join(items) + tail).encode("utf-8")

    def get(self, kind: str, record_id: str, actor: User | None) -> dict[str, Any]:
        """One live record visible to ``actor``."""
        with self.db.read() as conn:
            row = _load(conn, kind, record_id, actor)
        return record_json(row)

    def get_many(self, kind: str, ids: list[str], actor: User | None) -> list[dict[str, Any]]:
        """Live visible records among ``ids``, in the order asked."""
        marks = ",".join("?" * len(ids))
        with self.db.read() as conn:
            rows = conn.execute(
                f"SELECT {_COLUMNS} FROM records WHERE kind = ? AND deleted = 0 AND id IN ({marks})", [kind, *ids]
            ).fetchall()
        vis = _visibility(actor)
        found = {row[0]: record_json(row) for row in rows if vis is None or set(json.loads(row[5])) & vis}
        return [found[i] for i in dict.fromkeys(ids) if i in found]

    def find_companies(self, name: str | None, domain: str | None, actor: User | None) -> list[dict[str, Any]]:
        """Live companies whose name or domain equals the one given (case-insensitive)."""
        sql = f"SELECT {_COLUMNS} FROM records WHERE kind = 'companies' AND deleted = 0 AND "
        if name:
            sql, args = sql + "lookup = ?", [f"name:{name.strip().lower()}"]
        else:
            sql, args = sql + "lower(json_extract(data, '$.domain')) = ?", [(domain or "").strip().lower()]
        with self.db.read() as conn:
            rows = conn.execute(sql + " ORDER BY id", args).fetchall()
        vis = _visibility(actor)
        return [record_json(row) for row in rows if vis is None or set(json.loads(row[5])) & vis]

    # -- writes ----------------------------------------------------------------------------------
    def create(self, kind: str, body: Any, key: str, actor: User | None) -> tuple[int, dict[str, Any], bool]:
        """Create a record once per idempotency key: (status, record, replayed)."""
        with self.db.write() as conn:
            return self._create(conn, kind, body, key, actor)

    def update(self, kind: str, record_id: str, patch: Any, if_match: int, actor: User | None) -> dict[str, Any]:
        """Apply a partial update if the version still matches."""
        with self.db.write() as conn:
            return self._update(conn, kind, record_id, patch, if_match, actor)

    def delete(self, kind: str, record_id: str, if_match: int, actor: User | None) -> None:
        """Delete (leave a tombstone) if the version still matches."""
        with self.db.write() as conn:
            self._delete(conn, kind, record_id, if_match, actor)

    def bulk(self, kind: str, ops: list[dict[str, Any]], actor: User | None) -> list[dict[str, Any]]:
        """Apply each operation atomically (a savepoint each), all in one transaction; a result per item."""
        results = []
        with self.db.write() as conn:
            for index, op in enumerate(ops):
                conn.execute("SAVEPOINT item")
                try:
                    results.append({"index": index, **self._bulk_one(conn, kind, op, actor)})
                    conn.execute("RELEASE item")
                except P.Problem as err:
                    conn.execute("ROLLBACK TO item")
                    conn.execute("RELEASE item")
                    results.append({"index": index, "status": err.status, "problem": err.body()})
        return results

    def insert_raw(self, kind: str, data: dict[str, Any], record_id: str | None = None) -> dict[str, Any]:
        """Store a record WITHOUT validation (seeding only: lets the sync meet bad data like tricky c15)."""
        if kind in CUSTOM_KINDS:  # every record of a kind with custom fields carries the object, as replies must
            data = {"custom_fields": {}, **data}
        with self.db.write() as conn:
            return self._insert(conn, kind, data, record_id)

    def create_many(self, kind: str, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Validate and create many records in one transaction (seeding); raises on the first invalid one."""
        out = []
        with self.db.write() as conn:
            for data in records:
                clean, errors = validate_record(kind, data)
                errors += custom_errors(kind, (clean or {}).get("custom_fields"), self.fields.get(kind, []))
                if clean is None or errors:
                    raise P.validation(errors)
                out.append(self._insert(conn, kind, sem.finalise(kind, clean)))
        return out

    # -- internals -------------------------------------------------------------------------------
    def _bulk_one(self, conn: sqlite3.Connection, kind: str, op: Any, actor: User | None) -> dict[str, Any]:
        check_bulk_op(op)
        if op["op"] == "create":
            status, rec, _ = self._create(conn, kind, op["record"], op["idempotency_key"], actor)
            return {"status": status, "record": rec}
        if op["op"] == "update":
            return {"status": 200, "record": self._update(conn, kind, op["id"], op["patch"], op["if_match"], actor)}
        self._delete(conn, kind, op["id"], op["if_match"], actor)
        return {"status": 204}

    def _create(
        self, conn: sqlite3.Connection, kind: str, body: Any, key: Any, actor: User | None
    ) -> tuple[int, dict[str, Any], bool]:
        fingerprint = sem.request_fingerprint(body, actor.id if actor else None)
        seen = conn.execute(
            "SELECT fingerprint, status, response, created_at FROM idempotency WHERE kind = ? AND key = ?", (kind, key)
        ).fetchone()
        if seen and self._forgotten(str(seen[3])):  # a CRM keeping keys for a while only: a new create
            conn.execute("DELETE FROM idempotency WHERE kind = ? AND key = ?", (kind, key))
            seen = None
        if seen:
            if seen[0] != fingerprint:
                original = json.loads(seen[2])
                raise P.Problem(
                    422,
                    "idempotency-key-reused",
                    "this Idempotency-Key was already used for a different request; use a new key for a new record",
                    errors=[FieldError("", "Idempotency-Key reused with a different body")],
                    extra=reused_extra(original, actor),
                )
            return int(seen[1]), json.loads(seen[2]), True
        clean, errors = validate_record(kind, body)
        if clean is not None:
            errors = sent_errors(kind, body, self.fields) + self._unheld(kind, clean)
        if clean is None or errors:
            raise P.validation(errors)
        if actor is not None and clean.get("owner_id") is None:
            clean["owner_id"] = actor.id
        check_refs(conn, kind, clean, actor, set(clean))
        rec = self._insert(conn, kind, sem.finalise(kind, clean))
        conn.execute(
            "INSERT INTO idempotency VALUES (?, ?, ?, 201, ?, ?)",
            (kind, key, fingerprint, json.dumps(rec, ensure_ascii=False), rec["created_at"]),
        )
        return 201, rec, False

    def _forgotten(self, created_at: str) -> bool:
        """Whether a key first used at ``created_at`` is past the declared retention."""
        if self.key_retention is None:
            return False
        when = datetime.fromisoformat(created_at.replace("Z", "+00:00"))
        return datetime.now(UTC) - when > self.key_retention

    def _unheld(self, kind: str, clean: dict[str, Any]) -> list[FieldError]:
        """What this CRM cannot hold by its declared capabilities (occurrence exceptions)."""
        if kind == "activities" and not self.recurrence_exceptions and clean.get("exceptions"):
            return [
                FieldError(
                    "/exceptions",
                    "this CRM keeps no per-occurrence exceptions (GET /capabilities: recurrence_exceptions)",
                )
            ]
        return []

    def _insert(
        self, conn: sqlite3.Connection, kind: str, data: dict[str, Any], record_id: str | None = None
    ) -> dict[str, Any]:
        now = sem.now_rfc3339()
        rid = record_id or new_id(kind)
        keys = sorted(sem.scope_keys(kind, data))
        row = (rid, next_seq(conn), 1, 0, json.dumps(data, ensure_ascii=False), json.dumps(keys), now, now)
        conn.execute(
            f"INSERT INTO records (kind, {_COLUMNS}, lookup) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (kind, *row, _lookup(kind, data)),
        )
        _remember_keys(conn, kind, rid, keys)
        return record_json(row)

    def _update(
        self, conn: sqlite3.Connection, kind: str, rid: Any, patch: Any, if_match: Any, actor: User | None
    ) -> dict[str, Any]:
        row = _load(conn, kind, rid, actor)
        if row[2] != if_match:
            raise P.conflict(row[2], if_match)
        current = json.loads(row[4])
        clean, errors = validate_patch(kind, current, sem.prepare_patch(kind, patch))
        if clean is not None:
            errors = sent_errors(kind, patch, self.fields) + self._unheld(kind, clean)
        if clean is None or errors:
            raise P.validation(errors, "patch")
        check_refs(conn, kind, clean, actor, set(patch) & {"owner_id", "company_id"})
        data = sem.finalise(kind, clean)
        keys = sorted(sem.scope_keys(kind, data))
        new = (
            rid,
            next_seq(conn),
            row[2] + 1,
            0,
            json.dumps(data, ensure_ascii=False),
            json.dumps(keys),
            row[6],
            sem.now_rfc3339(),
        )
        conn.execute(
            "UPDATE records SET seq = ?, version = ?, data = ?, keys = ?, updated_at = ?, lookup = ? WHERE kind = ? AND id = ?",
            (new[1], new[2], new[4], new[5], new[7], _lookup(kind, data), kind, rid),
        )
        _remember_keys(conn, kind, rid, keys)
        return record_json(new)

    def _delete(self, conn: sqlite3.Connection, kind: str, rid: Any, if_match: Any, actor: User | None) -> None:
        row = _load(conn, kind, rid, actor)
        if row[2] != if_match:
            raise P.conflict(row[2], if_match)
        conn.execute(
            "UPDATE records SET seq = ?, version = ?, deleted = 1, updated_at = ?, lookup = NULL WHERE kind = ? AND id = ?",
            (next_seq(conn), row[2] + 1, sem.now_rfc3339(), kind, rid),
        )


def _user(row: tuple[Any, ...] | None) -> User | None:
    if row is None:
        return None
    return User(id=row[0], email=row[1], name=row[2], role=row[3], active=bool(row[4]))


def reused_extra(original: dict[str, Any], actor: User | None) -> dict[str, Any]:
    """What a key-reuse problem tells the caller: the record the key created, as created (id and
    body), when that caller owns it — a client whose create reply was lost and whose source
    changed before the retry can then merge rather than make a second record."""
    if actor is None or actor.role == "admin" or original.get("owner_id") == actor.id:
        return {"record_id": original["id"], "record": original}
    return {}


def _visibility(actor: User | None) -> set[str] | None:
    if actor is None or actor.role == "admin":
        return None
    return sem.visibility_keys(actor.id, actor.email)


def _lookup(kind: str, data: dict[str, Any]) -> str | None:
    if kind == "companies" and isinstance(data.get("name"), str):
        return f"name:{data['name'].strip().lower()}"
    return None


def _remember_keys(conn: sqlite3.Connection, kind: str, rid: str, keys: list[str]) -> None:
    conn.executemany("INSERT OR IGNORE INTO scope VALUES (?, ?, ?)", [(kind, k, rid) for k in keys])


def _load(conn: sqlite3.Connection, kind: str, rid: Any, actor: User | None) -> tuple[Any, ...]:
    row = conn.execute(
        f"SELECT {_COLUMNS} FROM records WHERE kind = ? AND id = ? AND deleted = 0", (kind, rid)
    ).fetchone()
    vis = _visibility(actor)
    if row is None or (vis is not None and not set(json.loads(row[5])) & vis):
        raise P.not_found(kind, str(rid))
    return tuple(row)


def record_text(row: tuple[Any, ...]) -> str:
    """The API JSON of a stored record, spliced from the stored text without re-encoding (the feed's hot path)."""
    rid, _seq, version, _deleted, data, _keys, created, updated = row
    head = f'{{"id":{json.dumps(rid)},"version":{int(version)},"created_at":"{created}","updated_at":"{updated}"'
    return head + ("}" if data == "{}" else "," + data[1:])


def _change(row: tuple[Any, ...], required: list[set[str]]) -> str:
    rid, _seq, version, deleted, _data, keys, _created, updated = row
    base = f'{{"id":{json.dumps(rid)},"version":{int(version)},"updated_at":"{updated}","change":'
    if deleted:
        return base + '"delete","record":null}'
    if not sem.in_scope(json.loads(keys), required):
        return base + '"out_of_scope","record":null}'
    return base + '"upsert","record":' + record_text(row) + "}"
