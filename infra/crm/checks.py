"""What a write to the reference CRM must pass besides the record's own validation: the users and
companies it refers to exist (and a user gives records only to themselves), and a bulk operation
has the shape the API documents."""

from __future__ import annotations

import sqlite3
from typing import Any

from crmsync.crm.models import User
from crmsync.crm.validation import FieldError

from . import problems as P


def check_refs(
    conn: sqlite3.Connection, kind: str, data: dict[str, Any], actor: User | None, touched: set[str]
) -> None:
    """Raise a 422 naming each field of ``touched`` that refers to no user or company, or a 403 when
    a non-admin gives a record to someone else."""
    errors = []
    owner = data.get("owner_id")
    if "owner_id" in touched and owner is not None:
        if conn.execute("SELECT 1 FROM users WHERE id = ?", (owner,)).fetchone() is None:
            errors.append(
                FieldError("/owner_id", f"no CRM user with id {owner!r}; look users up with GET /users?email=")
            )
        elif actor is not None and actor.role != "admin" and owner != actor.id:
            raise P.Problem(
                403, "forbidden", f"user {actor.id!r} may only give records to themselves, not to {owner!r}"
            )
    company = data.get("company_id")
    if kind == "contacts" and "company_id" in touched and company is not None:
        found = conn.execute(
            "SELECT 1 FROM records WHERE kind = 'companies' AND id = ? AND deleted = 0", (company,)
        ).fetchone()
        if found is None:
            errors.append(
                FieldError(
                    "/company_id",
                    f"no company with id {company!r}; create it first or look it up with GET /companies?name=",
                )
            )
    if errors:
        raise P.validation(errors)


_OP_FIELDS: dict[str, dict[str, type]] = {
    "create": {"idempotency_key": str, "record": dict},
    "update": {"id": str, "if_match": int, "patch": dict},
    "delete": {"id": str, "if_match": int},
}


def check_bulk_op(op: Any) -> None:
    """Raise a 400 problem naming the field when a bulk operation is malformed."""
    if not isinstance(op, dict) or not isinstance(op.get("op"), str) or op["op"] not in _OP_FIELDS:
        raise P.bad_request("malformed bulk operation", "/op", "op must be 'create', 'update' or 'delete'")
    fields = _OP_FIELDS[op["op"]]
    for name in set(op) - set(fields) - {"op"}:
        raise P.bad_request(f"unknown field {name!r} in a {op['op']} operation", f"/{name}", "unknown field")
    for name, typ in fields.items():
        value = op.get(name)
        if not isinstance(value, typ) or isinstance(value, bool) or (typ is str and not 1 <= len(str(value)) <= 255):
            what = {str: "a string of 1-255 characters", int: "an integer version", dict: "a JSON object"}[typ]
            raise P.bad_request(f"{name!r} must be {what}", f"/{name}", f"must be {what}")
