"""Limits on what a request may carry, applied before anything parses it.

Every entry point (web, fanout, worker) caps the body (413), bounds form parsing, and parses
JSON only after checking its nesting depth, so oversized or hostile input is a quick 4xx and
never a 500, a recursion error or a minute of parsing.
"""

from __future__ import annotations

import io
import json
import re
from typing import Any

MAX_BODY_BYTES = 64 * 1024  # the largest settings or admin document is a few kB
MAX_TASK_BODY_BYTES = 4 * 1024  # a sync task is ~200 bytes
MAX_FORM_PARTS = 200
MAX_JSON_DEPTH = 32  # settings documents nest 4 deep
_STRINGS = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKETS = re.compile(rb"[\[\]{}]")


class BodyTooLarge(ValueError):
    """The body is over the limit (HTTP 413)."""


class BadJson(ValueError):
    """The body is not JSON, or nested deeper than MAX_JSON_DEPTH (HTTP 400/422)."""


def limit_request(request: Any, max_bytes: int = MAX_BODY_BYTES) -> None:
    """Cap a werkzeug/Flask request's body and form parsing before anything reads it.

    A declared Content-Length over the cap is refused at once; a chunked body is read up to one
    byte past the cap and refused if it gets there (BodyTooLarge either way: 413).
    """
    # No request.max_content_length: functions-framework drains the body after every response and
    # would turn the 413 into a 500; the checks below bound the body before anything parses it.
    request.max_form_memory_size = max_bytes
    request.max_form_parts = MAX_FORM_PARTS
    if request.content_length is not None and request.content_length > max_bytes:
        raise BodyTooLarge(f"the body is {request.content_length} bytes; at most {max_bytes} are accepted")
    environ = request.environ
    if request.content_length is None and environ.get("wsgi.input_terminated"):
        # A chunked body: werkzeug would cut it at the cap without a word, and parse the rest.
        data = environ["wsgi.input"].read(max_bytes + 1)
        if len(data) > max_bytes:
            raise BodyTooLarge(f"the body is over {max_bytes} bytes; at most {max_bytes} are accepted")
        environ["wsgi.input"] = io.BytesIO(data)
        environ["CONTENT_LENGTH"] = str(len(data))
        environ.pop("HTTP_TRANSFER_ENCODING", None)


def depth(data: bytes) -> int:
    """The deepest nesting of arrays and objects in a JSON text (brackets inside strings do not count)."""
    deepest = level = 0
    for match in _BRACKETS.finditer(_STRINGS.sub(b'""', data)):
        if match.group() in (b"[", b"{"):
            level += 1
            deepest = max(deepest, level)
        else:
            level -= 1
    return deepest


def parse_json(data: bytes, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """The JSON value of ``data`` (empty: None), or BadJson saying what is wrong."""
    if not data.strip():
        return None
    if depth(data) > max_depth:
        raise BadJson(f"the JSON is nested too deep (more than {max_depth} levels)")
    try:
        return json.loads(data)
    except (ValueError, RecursionError) as err:
        raise BadJson(f"the body is not valid JSON ({str(err)[:200]})") from None
