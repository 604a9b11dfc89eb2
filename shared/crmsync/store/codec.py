"""Conversions between our models and Firestore documents, shared by both stores.

Both stores keep exactly what this module produces, so the in-memory fake returns
what Firestore would (UTC datetimes, plain strings for enums, no tuples).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from enum import Enum
from functools import cache
from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError

from crmsync.model.cursor import Cursor
from crmsync.model.kinds import Kind
from crmsync.model.link import Link, link_doc_id
from crmsync.model.state import Connection

from .contract import MAX_BATCH_WRITES, StoreError, chunked
from .legacy import upgrade_cursor, upgrade_link

Doc = dict[str, Any]

_INT64 = (-(2**63), 2**63 - 1)
SHARD_FIELD = "due_shard"  # store-only field of connection documents (store/due.py), not in the model
LINK_QUERY_FIELD = "google_id"  # store-only field of link documents: queries.LINKS_BY_GOOGLE_ID
MAX_ID_BYTES = 1500


def check_doc_id(what: str, value: str) -> str:
    """Return ``value`` if Firestore accepts it as a document id, else raise StoreError."""
    if not isinstance(value, str) or not value:
        raise StoreError(f"{what} must be a non-empty string, got {value!r}")
    if "/" in value:
        raise StoreError(f"{what} {value[:80]!r} contains '/', which a Firestore document id cannot hold")
    if value in (".", "..") or (value.startswith("__") and value.endswith("__")):
        raise StoreError(f"{what} {value[:80]!r} is reserved by Firestore ('.', '..' and '__*__' are not allowed)")
    if len(value.encode()) > MAX_ID_BYTES:
        raise StoreError(f"{what} is {len(value.encode())} bytes; Firestore document ids are at most {MAX_ID_BYTES}")
    return value


def check_aware(what: str, value: datetime) -> datetime:
    """Return ``value`` in UTC, or raise StoreError for a naive or non-datetime value."""
    if not isinstance(value, datetime):
        raise StoreError(f"{what} must be a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise StoreError(f"{what} {value.isoformat()} has no time zone; pass an aware datetime (e.g. UTC)")
    return value.astimezone(UTC)


def to_value(value: Any, where: str = "value", in_array: bool = False) -> Any:
    """Convert a Python value to what Firestore stores, or raise StoreError naming the bad part."""
    if isinstance(value, Enum):
        return to_value(value.value, where, in_array)
    if value is None or isinstance(value, bool | float | str | bytes):
        return value
    if isinstance(value, int):
        if not _INT64[0] <= value <= _INT64[1]:
            raise StoreError(f"{where}: integer {value} does not fit Firestore's 64-bit integers")
        return value
    if isinstance(value, datetime):
        return check_aware(where, value)
    if isinstance(value, BaseModel):
        return to_value(value.model_dump(mode="python"), where, in_array)
    if isinstance(value, dict):
        out: Doc = {}
        for key, item in value.items():
            if not isinstance(key, str) or not key:
                raise StoreError(f"{where}: map keys must be non-empty strings, got {key!r}")
            out[key] = to_value(item, f"{where}.{key}")
        return out
    if isinstance(value, list | tuple):
        if in_array:
            raise StoreError(f"{where}: Firestore cannot store an array directly inside an array")
        return [to_value(item, f"{where}[{i}]", in_array=True) for i, item in enumerate(value)]
    if isinstance(value, set | frozenset):  # stored as a sorted array, so documents are deterministic
        return to_value(sorted(value), where, in_array)
    raise StoreError(f"{where}: {type(value).__name__} cannot be stored in Firestore")


def to_doc(data: dict[str, Any], where: str) -> Doc:
    """Convert a mapping of fields to a storable document."""
    doc = to_value(data, where)
    assert isinstance(doc, dict)
    return doc


def from_value(value: Any) -> Any:
    """Turn a value read from Firestore back into plain Python (plain datetimes, lists, dicts)."""
    if isinstance(value, datetime):
        return datetime(*value.timetuple()[:6], value.microsecond, tzinfo=UTC)
    if isinstance(value, dict):
        return {k: from_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [from_value(v) for v in value]
    return value


def _decode(model: type[BaseModel], doc: Doc, where: str) -> Any:
    try:
        return model.model_validate(from_value(doc))
    except ValidationError as err:
        raise StoreError(f"stored document {where} does not match {model.__name__}: {err}") from err


def link_to_doc(link: Link) -> Doc:
    """The Firestore document of a link: the model, each side's stand-ins only when there are any,
    and the Google id once more at the top (``LINK_QUERY_FIELD``), where links are looked up by it."""
    data = link.model_dump(mode="python")
    for side in ("crm", "google"):
        if not data[side]["held"]:
            del data[side]["held"]
    return to_doc({**data, LINK_QUERY_FIELD: link.google_id}, f"link {link.doc_id}")


def link_from_doc(doc: Doc, where: str) -> Link:
    """A link from its stored document (one of the previous, flat shape is upgraded)."""
    data = {k: v for k, v in upgrade_link(doc).items() if k != LINK_QUERY_FIELD}
    link = _decode(Link, data, where)
    assert isinstance(link, Link)
    return link


def cursor_to_doc(cursor: Cursor) -> Doc:
    """The Firestore document of a cursor."""
    return to_doc(cursor.model_dump(mode="python"), f"cursor {cursor.kind}")


def cursor_from_doc(doc: Doc, where: str) -> Cursor:
    """A cursor from its stored document (one of the previous shape is upgraded)."""
    cursor = _decode(Cursor, upgrade_cursor(doc, where), where)
    assert isinstance(cursor, Cursor)
    return cursor


def connection_to_doc(connection: Connection) -> Doc:
    """The Firestore document of a connection."""
    return to_doc(connection.model_dump(mode="python"), f"connection {connection.id}")


def connection_from_doc(doc: Doc, where: str) -> Connection:
    """A connection from its stored document."""
    connection = _decode(Connection, {k: v for k, v in doc.items() if k != SHARD_FIELD}, where)
    assert isinstance(connection, Connection)
    return connection


@cache
def _field_adapter(name: str) -> TypeAdapter[Any]:
    annotation = Connection.model_fields[name].annotation
    assert annotation is not None
    return TypeAdapter(annotation)


def connection_fields_to_doc(connection_id: str, fields: dict[str, Any]) -> Doc:
    """Validate top-level Connection fields for a partial update and convert them for storage."""
    if not isinstance(fields, dict) or not fields:
        raise StoreError("update_connection needs a non-empty dict of field names to values")
    out: Doc = {}
    for name, value in fields.items():
        if name == "id" or name not in Connection.model_fields:
            allowed = ", ".join(n for n in Connection.model_fields if n != "id")
            raise StoreError(f"cannot update connection field {name!r}; updatable fields: {allowed}")
        try:
            checked = _field_adapter(name).validate_python(value)
        except ValidationError as err:
            raise StoreError(f"connection {connection_id}: invalid value for {name}: {err}") from err
        out[name] = to_value(checked, f"connection {connection_id}.{name}")
    return out


def encode_page_cursor(value: datetime | None, doc_id: str) -> str:
    """An opaque page cursor for the position (ordered field value, document id)."""
    raw = json.dumps([value.isoformat() if value else None, doc_id], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_page_cursor(token: str) -> tuple[datetime, str]:
    """The position a page cursor stands for; StoreError if it is not one of ours."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        when, doc_id = json.loads(raw)
        return check_aware("page cursor", datetime.fromisoformat(when)), check_doc_id("page cursor id", doc_id)
    except (binascii.Error, ValueError, TypeError, StoreError) as err:
        raise StoreError(f"invalid page cursor {token[:40]!r}: pass back a next_cursor from a previous page") from err


def link_doc_for(kind: Kind, crm_id: str) -> str:
    """The document id of a link, checked to be a valid Firestore id."""
    return check_doc_id("CRM id", link_doc_id(kind, check_doc_id("CRM id", crm_id)))


LinkWrite = tuple[str, Doc | None]  # link document id, and its document (None: delete it)


def plan_link_writes(upserts: Sequence[Link], deletes: Sequence[Link]) -> list[Sequence[LinkWrite]]:
    """Link writes grouped into batches of at most 500 (a later upsert of the same link wins)."""
    ops: dict[str, Doc | None] = {}
    for link in upserts:
        ops[link_doc_for(link.kind, link.crm_id)] = link_to_doc(link)
    for link in deletes:
        doc_id = link_doc_for(link.kind, link.crm_id)
        if ops.get(doc_id) is not None:
            raise StoreError(f"link {doc_id} is both saved and deleted in one save_links call; pass it once")
        ops[doc_id] = None
    return chunked(list(ops.items()), MAX_BATCH_WRITES)
