"""Validate emulator JSON responses against the discovery documents shipped
inside google-api-python-client, so field names and types cannot drift."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import googleapiclient

DOCS = Path(googleapiclient.__file__).parent / "discovery_cache" / "documents"
_DOC_FOR_API = {"people": "people.v1.json", "calendar": "calendar.v3.json", "tasks": "tasks.v1.json"}


@functools.cache
def discovery(api: str) -> dict[str, Any]:
    return json.loads((DOCS / _DOC_FOR_API[api]).read_text())  # type: ignore[no-any-return]


@functools.cache
def response_ref(method_id: str) -> str | None:
    """The schema name of a method's response (``None`` for methods returning nothing)."""
    api = method_id.split(".")[0]

    def walk(res: dict[str, Any]) -> str | None:
        for m in res.get("methods", {}).values():
            if m["id"] == method_id:
                return m.get("response", {}).get("$ref")  # type: ignore[no-any-return]
        for sub in res.get("resources", {}).values():
            found = walk(sub)
            if found:
                return found
        return None

    return walk(discovery(api))


class SchemaMismatch(AssertionError):
    pass


def validate(method_id: str, body: Any) -> None:
    """Raise ``SchemaMismatch`` naming the JSON path if ``body`` does not fit the
    discovery schema of ``method_id``'s response (unknown field, wrong type)."""
    ref = response_ref(method_id)
    if ref is None or ref == "Empty":
        if body not in (None, {}, b"", ""):
            raise SchemaMismatch(f"{method_id}: expected an empty body, got {body!r:.200}")
        return
    api = method_id.split(".")[0]
    _check(discovery(api)["schemas"], {"$ref": ref}, body, method_id)


def _check(schemas: dict[str, Any], schema: dict[str, Any], value: Any, path: str) -> None:
    if "$ref" in schema:
        schema = schemas[schema["$ref"]]
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        if not isinstance(value, dict):
            raise SchemaMismatch(f"{path}: expected an object, got {type(value).__name__}")
        props = schema.get("properties", {})
        extra = schema.get("additionalProperties")
        for key, item in value.items():
            if key in props:
                _check(schemas, props[key], item, f"{path}.{key}")
            elif extra is not None:
                _check(schemas, extra, item, f"{path}[{key!r}]")
            else:
                raise SchemaMismatch(f"{path}: unknown field {key!r} (not in the discovery schema)")
    elif kind == "array":
        if not isinstance(value, list):
            raise SchemaMismatch(f"{path}: expected an array, got {type(value).__name__}")
        for i, item in enumerate(value):
            _check(schemas, schema["items"], item, f"{path}[{i}]")
    elif kind == "string":
        if not isinstance(value, str):
            raise SchemaMismatch(f"{path}: expected a string, got {value!r:.80}")
    elif kind == "integer":
        if schema.get("format") in ("int64", "uint64"):
            if not isinstance(value, str) or not value.lstrip("-").isdigit():
                raise SchemaMismatch(f"{path}: expected an int64 as a decimal string, got {value!r}")
        elif not isinstance(value, int) or isinstance(value, bool):
            raise SchemaMismatch(f"{path}: expected an integer, got {value!r}")
    elif kind == "number":
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise SchemaMismatch(f"{path}: expected a number, got {value!r}")
    elif kind == "boolean":
        if not isinstance(value, bool):
            raise SchemaMismatch(f"{path}: expected a boolean, got {value!r}")
    elif kind == "any" or kind is None:
        return
