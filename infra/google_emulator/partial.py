"""Google's HTTP conventions on every JSON API response: the ``fields`` partial response and the
``ETag`` header with ``If-None-Match`` (304).

``fields`` (https://developers.google.com/workspace/calendar/api/guides/performance#partial-response,
the same system parameter on People and Tasks): a comma-separated list of fields; ``a/b`` selects
``b`` inside ``a``; ``a(b,c)`` selects ``b`` and ``c`` inside ``a`` (inside each element when ``a`` is
an array); ``*`` selects every field at its level. A response holds only what was selected, so
code that reads a field it did not ask for finds nothing, as at Google. A malformed selection is
a 400.

ETag (https://developers.google.com/workspace/calendar/api/guides/version-resources): a GET
answers with an ``ETag`` header (the resource's own ``etag`` when it has one, else a hash of
the body); ``If-None-Match`` with that value answers 304 Not Modified with no body.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from .core import ApiError

Selection = dict[str, "Selection | None"]  # field -> sub-selection (None: the whole value)


def _invalid(spec: str, why: str) -> ApiError:
    return ApiError(400, f"Invalid field selection {spec!r}: {why}.", reason="invalidParameter", location="fields")


def _merge(into: Selection, name: str, sub: Selection | None) -> None:
    if name not in into:
        into[name] = sub
    elif into[name] is not None:
        if sub is None:
            into[name] = None
        else:
            existing = into[name]
            assert existing is not None
            for key, value in sub.items():
                _merge(existing, key, value)


def parse_fields(spec: str) -> Selection:
    """The selection a ``fields`` value makes, or a 400 naming what is wrong."""
    pos = 0

    def selection(depth: int) -> Selection:
        nonlocal pos
        out: Selection = {}
        while True:
            path: list[str] = []
            name = ""
            while pos < len(spec) and spec[pos] not in ",()/":
                name += spec[pos]
                pos += 1
            while pos < len(spec) and spec[pos] == "/":
                path.append(name.strip())
                name = ""
                pos += 1
                while pos < len(spec) and spec[pos] not in ",()/":
                    name += spec[pos]
                    pos += 1
            path.append(name.strip())
            if any(not p or not (p == "*" or p.replace("_", "a").replace("@", "a").isalnum()) for p in path):
                raise _invalid(spec, f"bad field name at position {pos}")
            sub: Selection | None = None
            if pos < len(spec) and spec[pos] == "(":
                pos += 1
                sub = selection(depth + 1)
                if pos >= len(spec) or spec[pos] != ")":
                    raise _invalid(spec, "unbalanced parentheses")
                pos += 1
            for p in reversed(path[1:]):
                sub = {p: sub}
            _merge(out, path[0], sub)
            if pos < len(spec) and spec[pos] == ",":
                pos += 1
                continue
            if pos < len(spec) and spec[pos] == ")" and depth > 0:
                return out
            if pos >= len(spec):
                if depth > 0:
                    raise _invalid(spec, "unbalanced parentheses")
                return out
            raise _invalid(spec, f"unexpected {spec[pos]!r} at position {pos}")

    return selection(0)


def trim(value: Any, sel: Selection | None) -> Any:
    """``value`` with only the selected fields (arrays: each element)."""
    if sel is None:
        return value
    if isinstance(value, list):
        return [trim(v, sel) for v in value]
    if not isinstance(value, dict):
        return value
    out: dict[str, Any] = {}
    for key, item in value.items():
        if key in sel:
            out[key] = trim(item, sel[key])
        elif "*" in sel:
            out[key] = trim(item, sel["*"])
    return out


def partial(data: dict[str, Any], spec: str | None) -> dict[str, Any]:
    """The response ``fields`` asks for (all of it without ``fields``)."""
    if spec is None or not spec.strip():
        return data
    result: dict[str, Any] = trim(data, parse_fields(spec.strip()))
    return result


def etag_header(data: dict[str, Any] | None, body: bytes) -> str:
    """The ``ETag`` header of a response: the resource's etag (quoted as HTTP wants), else a body hash."""
    tag = data.get("etag") if isinstance(data, dict) else None
    if isinstance(tag, str) and tag:
        return tag if tag.startswith(('"', 'W/"')) else json.dumps(tag)
    return '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"'


def not_modified(if_none_match: str | None, etag: str) -> bool:
    """Whether an ``If-None-Match`` header names ``etag`` (or ``*``)."""
    if not if_none_match:
        return False
    wanted = {t.strip().removeprefix("W/") for t in if_none_match.split(",")}
    return "*" in wanted or etag.removeprefix("W/") in wanted
