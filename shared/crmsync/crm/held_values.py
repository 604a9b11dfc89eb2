"""Values a CRM refuses, held back so one odd value never keeps the rest of a record out of the
CRM (issue 12): a write the CRM refuses for some values is sent once more without them, under its
own idempotency key. What was held back stays in Google (the link records the CRM's stand-in, see
``model.link.held_fields``) and is named, with the CRM's reason, in the run's notes. Contacts,
activities and tasks share this one mechanism."""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from ..ports import WriteOp, WriteResult
from .port import BulkOp, BulkResult, CrmValidation
from .validation_formats import FieldError

# How one op becomes a bulk operation; ``held`` is "" for the first attempt and a suffix that
# gives a reduced body its own idempotency key (the same key with another body is a key reuse).
MakeOp = Callable[[WriteOp, dict[str, Any], str], BulkOp]
Send = Callable[[Sequence[WriteOp], list[BulkOp]], list[tuple[WriteResult, BulkResult]]]


def _value_at(body: Mapping[str, Any], path: Sequence[str]) -> Any:
    node: Any = body
    for part in path:
        node = node[int(part)] if isinstance(node, list) else node.get(part)
    return node


def without_refused(
    body: dict[str, Any], errors: Sequence[FieldError], *, required: frozenset[str] = frozenset({"owner_id"})
) -> tuple[dict[str, Any], list[str]] | None:
    """``body`` without the values the CRM refused (an item of a list field, or a single
    field), and a note per value held back; None when a refused value cannot be left out
    (it is in ``required``, or the CRM points at something the body does not have)."""
    out = copy.deepcopy(body)
    drop: dict[str, set[int]] = {}
    notes = []
    for err in errors:
        path = [p.replace("~1", "/").replace("~0", "~") for p in err.path.strip("/").split("/") if p]
        if not path or path[0] not in body or path[0] in required:
            return None
        try:
            value = _value_at(body, path)
        except (LookupError, ValueError, TypeError, AttributeError):
            return None
        notes.append(f"{err.path} {value!r} kept out of the CRM: {err.message}")
        if isinstance(body[path[0]], list) and len(path) > 1 and path[1].isdigit():
            drop.setdefault(path[0], set()).add(int(path[1]))
        elif path[0] == "custom_fields" and isinstance(out[path[0]], dict) and len(path) == 2:  # one custom field
            out[path[0]].pop(path[1], None)
        else:
            out[path[0]] = None
    for field, indexes in drop.items():
        out[field] = [item for i, item in enumerate(body[field]) if i not in indexes]
    return out, notes


def write_holding_refused(
    ops: Sequence[WriteOp],
    bodies: Sequence[tuple[dict[str, Any], list[str]]],
    make: MakeOp,
    send: Send,
    *,
    required: frozenset[str] = frozenset({"owner_id"}),
) -> list[WriteResult]:
    """Send each op's body (with the notes already due for it, e.g. values adapted); a record
    the CRM refuses for values it can do without is sent once more without them, and its result
    carries a note per value held back. A record still refused keeps its first refusal (it says
    best what is wrong)."""
    sent = send(ops, [make(op, body, "") for op, (body, _) in zip(ops, bodies, strict=True)])
    out = [_noted(res, notes) for (res, _), (_, notes) in zip(sent, bodies, strict=True)]
    again: list[tuple[int, dict[str, Any], list[str]]] = []
    for i, (res, raw) in enumerate(sent):
        if not res.ok and isinstance(raw.error, CrmValidation) and raw.error.errors:
            reduced = without_refused(bodies[i][0], raw.error.errors, required=required)
            if reduced is not None:
                again.append((i, reduced[0], bodies[i][1] + reduced[1]))
    if again:
        retry_ops = [ops[i] for i, _, _ in again]
        held = [make(ops[i], body, "|held:" + _digest(body)) for i, body, _ in again]
        for (i, _, notes), (res, _) in zip(again, send(retry_ops, held), strict=True):
            if res.ok or res.conflict or res.transient:
                out[i] = _noted(res, notes)
    return out


def _noted(res: WriteResult, notes: list[str]) -> WriteResult:
    return replace(res, notes=(*res.notes, *notes)) if res.ok and notes else res


def _digest(body: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()[:12]
