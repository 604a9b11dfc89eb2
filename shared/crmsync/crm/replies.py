"""Reading CRM replies strictly against the contract: a reply that does not match is an error naming
the field, never an empty value.

A lenient reader turns a server's misspelt ``phone_numbers`` into "this contact has no phones" and the
sync dutifully wipes them in Google. So every reply is checked: records carry every field of their kind
and no other (the contract's response schemas are closed), every value has its exact JSON type, feed
pages, lookups and bulk answers have exactly their documented shape. Anything else raises
``CrmContractError`` with a JSON Pointer per problem; the engine stops that kind for the run (it is a
``SafetyStop``), keeps its cursor, and the same changes are read again once the server is fixed.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ValidationError

from ..model.custom import CrmField
from .models import OPTIONAL_IN_REPLIES, RECORD_MODELS, Capabilities, Company, FieldList, Kind, Record, User
from .port import Change, ChangePage, CrmContractError
from .validation import FieldError

CHANGE_FIELDS = ("id", "version", "updated_at", "change", "record")
CHANGE_TYPES = ("upsert", "delete", "out_of_scope")


def _pointer(base: str, loc: Sequence[Any]) -> str:
    return base + "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in loc)


def _model_errors(model: type[BaseModel], data: Any, base: str) -> list[FieldError]:
    """Unknown fields, missing fields and wrong types of ``data`` as ``model`` (all of its fields required)."""
    if not isinstance(data, Mapping):
        return [FieldError(base or "/", f"expected a JSON object, got {_json_type(data)}")]
    known = list(model.model_fields)
    errors = [
        FieldError(_pointer(base, [name]), "missing (the contract requires every field in replies; send null or [])")
        for name in known
        if name not in data and name not in OPTIONAL_IN_REPLIES
    ]
    try:
        model.model_validate(data, strict=True)
    except ValidationError as err:
        for e in err.errors():
            where = _pointer(base, e["loc"])
            if e["type"] == "missing" and len(e["loc"]) == 1:
                continue  # top-level absence is reported above
            if e["type"] == "missing":
                errors.append(FieldError(where, "missing (required by the contract)"))
                continue
            if e["type"] == "extra_forbidden":
                name = str(e["loc"][-1])
                near = difflib.get_close_matches(name, _siblings(model, e["loc"]), n=1)
                hint = f"; did you mean {near[0]!r}?" if near else ""
                errors.append(FieldError(where, f"unknown field, not in the contract{hint}"))
            else:
                errors.append(FieldError(where, f"{e['msg']} (got {_json_type(e.get('input'))})"))
    return errors


def _siblings(model: type[BaseModel], loc: Sequence[Any]) -> list[str]:
    """The field names allowed next to ``loc``'s last part (for a did-you-mean hint)."""
    current: Any = model
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        is_model = isinstance(current, type) and issubclass(current, BaseModel)
        field = current.model_fields.get(str(part)) if is_model else None
        if field is None:
            return []
        current = _inner_model(field.annotation)
    return list(current.model_fields) if isinstance(current, type) and issubclass(current, BaseModel) else []


def _inner_model(annotation: Any) -> Any:
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _inner_model(arg)
        if found is not None:
            return found
    return annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _fail(where: str, errors: list[FieldError]) -> CrmContractError:
    shown = "; ".join(f"{e.path}: {e.message}" for e in errors[:5])
    more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
    return CrmContractError(
        f"the CRM's reply to {where} does not match the CRM Sync API contract: {shown}{more}", errors=errors
    )


def record_errors(kind: str, data: Any, base: str = "") -> list[FieldError]:
    """What is wrong with ``data`` as a ``kind`` record in a reply (empty: it matches the contract)."""
    return _model_errors(RECORD_MODELS[kind], data, base)


def parse_record(kind: str, data: Any, *, where: str = "a record reply", base: str = "") -> Record:
    """A record as the CRM returned it; ``CrmContractError`` if it breaks the contract."""
    errors = record_errors(kind, data, base)
    if errors:
        raise _fail(where, errors)
    return RECORD_MODELS[kind].model_validate(data, strict=True)


def _obj(data: Any, where: str, fields: Sequence[str], base: str = "") -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise _fail(where, [FieldError(base or "/", f"expected a JSON object, got {_json_type(data)}")])
    errors = [FieldError(_pointer(base, [f]), "missing") for f in fields if f not in data]
    errors += [FieldError(_pointer(base, [k]), "unknown field, not in the contract") for k in data if k not in fields]
    if errors:
        raise _fail(where, errors)
    return data


def _items(data: Any, where: str) -> list[Any]:
    items = _obj(data, where, ["items"])["items"]
    if not isinstance(items, list):
        raise _fail(where, [FieldError("/items", f"expected an array, got {_json_type(items)}")])
    return items


def change_page(kind: Kind, data: Any, where: str) -> ChangePage:
    """A change-feed page."""
    page = _obj(data, where, ["items", "next_cursor", "has_more"])
    errors: list[FieldError] = []
    if not isinstance(page["next_cursor"], str) or not page["next_cursor"]:
        errors.append(FieldError("/next_cursor", "expected a non-empty string"))
    if not isinstance(page["has_more"], bool):
        errors.append(FieldError("/has_more", f"expected a boolean, got {_json_type(page['has_more'])}"))
    if not isinstance(page["items"], list):
        errors.append(FieldError("/items", f"expected an array, got {_json_type(page['items'])}"))
    if errors:
        raise _fail(where, errors)
    changes = [_change(kind, item, where, f"/items/{i}") for i, item in enumerate(page["items"])]
    return ChangePage(items=changes, next_cursor=page["next_cursor"], has_more=page["has_more"])


def _change(kind: Kind, item: Any, where: str, base: str) -> Change:
    entry = _obj(item, where, CHANGE_FIELDS, base)
    errors: list[FieldError] = []
    if not isinstance(entry["id"], str) or not entry["id"]:
        errors.append(FieldError(base + "/id", "expected a non-empty string"))
    if type(entry["version"]) is not int:
        errors.append(FieldError(base + "/version", f"expected an integer, got {_json_type(entry['version'])}"))
    if not isinstance(entry["updated_at"], str):
        errors.append(FieldError(base + "/updated_at", "expected an RFC 3339 string"))
    change = entry["change"]
    if change not in CHANGE_TYPES:
        errors.append(FieldError(base + "/change", f"expected one of {', '.join(CHANGE_TYPES)}, got {change!r}"))
    elif change == "upsert":
        errors += record_errors(kind, entry["record"], base + "/record")
    elif entry["record"] is not None:
        errors.append(FieldError(base + "/record", f"must be null for change {change!r}"))
    if errors:
        raise _fail(where, errors)
    record = RECORD_MODELS[kind].model_validate(entry["record"], strict=True) if change == "upsert" else None
    return Change(kind, entry["id"], change, entry["version"], entry["updated_at"], record)


def records(kind: str, data: Any, where: str) -> list[Record]:
    """``{"items": [records]}``."""
    items = _items(data, where)
    errors = [e for i, r in enumerate(items) for e in record_errors(kind, r, f"/items/{i}")]
    if errors:
        raise _fail(where, errors)
    return [RECORD_MODELS[kind].model_validate(r, strict=True) for r in items]


def companies(data: Any, where: str) -> list[Company]:
    """``{"items": [companies]}``."""
    return [c for c in records("companies", data, where) if isinstance(c, Company)]


def user(data: Any, where: str, base: str = "") -> User:
    """A user."""
    errors = _model_errors(User, data, base)
    if errors:
        raise _fail(where, errors)
    return User.model_validate(data, strict=True)


def users(data: Any, where: str) -> list[User]:
    """``{"items": [users]}`` (zero or one)."""
    items = _items(data, where)
    errors = [e for i, u in enumerate(items) for e in _model_errors(User, u, f"/items/{i}")]
    if errors:
        raise _fail(where, errors)
    return [User.model_validate(u, strict=True) for u in items]


def bulk_results(data: Any, where: str, count: int) -> list[dict[str, Any]]:
    """``{"results": [...]}`` with one result per operation, in order; each checked for its shape."""
    results = _obj(data, where, ["results"])["results"]
    if not isinstance(results, list) or len(results) != count:
        got = f"{len(results)} results" if isinstance(results, list) else _json_type(results)
        raise _fail(where, [FieldError("/results", f"expected one result per operation ({count}), got {got}")])
    out = []
    for i, res in enumerate(results):
        base = f"/results/{i}"
        if not isinstance(res, Mapping):
            raise _fail(where, [FieldError(base, "expected a JSON object")])
        extra = [k for k in res if k not in ("index", "status", "record", "problem")]
        errors = [FieldError(f"{base}/{k}", "unknown field, not in the contract") for k in extra]
        if res.get("index") != i or type(res.get("index")) is not int:
            errors.append(FieldError(base + "/index", f"expected {i} (results come in request order)"))
        status = res.get("status")
        if type(status) is not int or not 200 <= status < 600:
            errors.append(FieldError(base + "/status", "expected an HTTP status code"))
        elif status in (200, 201) and "record" not in res:
            errors.append(FieldError(base + "/record", f"missing (required with status {status})"))
        elif status >= 400 and not isinstance(res.get("problem"), Mapping):
            errors.append(FieldError(base + "/problem", f"missing (required with status {status})"))
        if errors:
            raise _fail(where, errors)
        out.append(dict(res))
    return out


def capabilities(data: Any, where: str) -> Capabilities:
    """``GET /capabilities``: the known members with their exact types (unknown members are ignored)."""
    if not isinstance(data, Mapping):
        raise _fail(where, [FieldError("/", f"expected a JSON object, got {_json_type(data)}")])
    try:
        return Capabilities.model_validate(data, strict=True)
    except ValidationError as err:
        raise _fail(where, [FieldError(_pointer("", e["loc"]), e["msg"]) for e in err.errors()]) from err


def fields(data: Any, where: str) -> list[CrmField]:
    """``GET /{kind}/fields``: ``{"items": [field declarations]}``, each exactly as the contract has it."""
    errors = _model_errors(FieldList, data, "")
    if not errors:
        try:
            return FieldList.model_validate(data).items
        except ValidationError as err:  # a declaration's own rules (a picklist without options, ...)
            errors = [FieldError(_pointer("", e["loc"]), e["msg"]) for e in err.errors()]
    raise _fail(where, errors)
