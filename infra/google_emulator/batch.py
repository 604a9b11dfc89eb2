"""Batch endpoints: ``POST /batch`` (People and Tasks) and ``POST /batch/calendar/v3``.

The wire format is the one googleapiclient's ``BatchHttpRequest`` sends and
parses: multipart/mixed, each part ``Content-Type: application/http`` with a
``Content-ID: <base + N>`` and a whole HTTP request inside (request line with the
full path, its own Authorization header, body). Each inner call goes through
``server.dispatch`` (auth, counters, faults and quotas apply per call) and is
answered in a part with ``Content-ID: <response-base + N>``.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from .core import CALENDAR, PEOPLE, ROUTER, TASKS, ApiError, Ctx, route
from .server import UNLOCKED_METHOD_IDS, Response, dispatch, reason_phrase

DEFAULT_LIMIT = 1000  # calls per batch (Google's documented maximum for both endpoints)
_BOUNDARY_RE = re.compile(r'boundary="?([^";]+)"?', re.IGNORECASE)

UNLOCKED_METHOD_IDS.add("batch")


@dataclass
class Part:
    """One inner request of a batch."""

    content_id: str | None
    content_type: str
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes


def _split_head(data: bytes) -> tuple[dict[str, str], bytes]:
    """Split MIME-style headers (CRLF or LF, folded lines allowed) from the body."""
    ends = [(i, len(sep)) for sep in (b"\r\n\r\n", b"\n\n") if (i := data.find(sep)) >= 0]
    if not ends:
        head, body = data, b""
    else:
        idx, size = min(ends)
        head, body = data[:idx], data[idx + size :]
    headers: dict[str, str] = {}
    last = ""
    for raw in head.decode("utf-8", "replace").splitlines():
        if raw[:1] in (" ", "\t") and last:
            headers[last] += " " + raw.strip()
        elif ":" in raw:
            name, _, value = raw.partition(":")
            last = name.strip().lower()
            headers[last] = value.strip()
    return headers, body


def _strip_eol(chunk: bytes) -> bytes:
    if chunk.startswith(b"\r\n"):
        chunk = chunk[2:]
    elif chunk.startswith(b"\n"):
        chunk = chunk[1:]
    if chunk.endswith(b"\r\n"):
        return chunk[:-2]
    return chunk[:-1] if chunk.endswith(b"\n") else chunk


def parse_batch(content_type: str, body: bytes) -> list[Part]:
    """The inner requests of a multipart/mixed batch body, or a 400 saying what is wrong."""
    m = _BOUNDARY_RE.search(content_type)
    if not content_type.lower().startswith("multipart/mixed") or m is None:
        raise ApiError(
            400, f"A batch request must be multipart/mixed with a boundary, got Content-Type {content_type!r}"
        )
    delimiter = b"--" + m.group(1).encode()
    chunks = body.split(delimiter)
    parts: list[Part] = []
    for chunk in chunks[1:]:
        if chunk.startswith(b"--"):
            break  # closing delimiter
        part_headers, payload = _split_head(_strip_eol(chunk))
        request_line, _, rest = payload.partition(b"\n")
        words = request_line.decode("utf-8", "replace").strip().split()
        if len(words) < 2:
            raise ApiError(
                400, f"Batch part {len(parts) + 1} does not start with an HTTP request line (METHOD /path HTTP/1.1)"
            )
        target = urlsplit(words[1])
        headers, inner_body = _split_head(rest)
        length = headers.get("content-length")
        if length and length.isdigit() and int(length) < len(inner_body):
            inner_body = inner_body[: int(length)]
        parts.append(
            Part(
                part_headers.get("content-id"),
                part_headers.get("content-type", ""),
                words[0].upper(),
                unquote(target.path),  # as the server decodes a plain request's path
                target.query,
                headers,
                inner_body,
            )
        )
    return parts


def _serve_part(ctx: Ctx, part: Part, apis: tuple[str, ...], endpoint: str) -> Response:
    if not part.content_type.lower().startswith("application/http"):
        err = ApiError(400, f"Each batch part must have Content-Type application/http, got {part.content_type!r}")
        return Response.json(400, err.body(apis[0]))
    found = ROUTER.match(part.method, part.path)
    if found is not None and (found[0].api not in apis or found[0].method_id == "batch"):
        api = found[0].api if found[0].api in (PEOPLE, CALENDAR, TASKS) else apis[0]
        err = ApiError(404, f"{part.method} {part.path} cannot be sent in a batch to {endpoint}.", reason="notFound")
        return Response.json(404, err.body(api))
    return dispatch(ctx.state, part.method, part.path, part.query, part.headers, part.body, inner=True)


def _render(parts: list[Part], responses: list[Response]) -> Response:
    boundary = "batch_" + secrets.token_hex(12)
    out: list[bytes] = []
    for n, (part, resp) in enumerate(zip(parts, responses, strict=True), start=1):
        cid = part.content_id or f"<item{n}>"
        cid = "<response-" + cid[1:] if cid.startswith("<") else "<response-" + cid + ">"
        head = [f"HTTP/1.1 {resp.status} {reason_phrase(resp.status)}"]
        head += [f"{k}: {v}" for k, v in resp.headers.items()]
        head.append(f"Content-Length: {len(resp.body)}")
        out.append(f"--{boundary}\r\nContent-Type: application/http\r\nContent-ID: {cid}\r\n\r\n".encode())
        out.append("\r\n".join(head).encode() + b"\r\n\r\n" + resp.body + b"\r\n")
    out.append(f"--{boundary}--\r\n".encode())
    return Response(200, b"".join(out), {"Content-Type": f"multipart/mixed; boundary={boundary}"})


def _serve(ctx: Ctx, apis: tuple[str, ...], limit: int) -> Response:
    parts = parse_batch(ctx.headers.get("content-type", ""), ctx.body)
    if not parts:
        raise ApiError(400, "The batch request contains no parts.")
    if len(parts) > limit:
        raise ApiError(
            400,
            f"A batch request may contain at most {limit} calls; this one has {len(parts)}. Split it into smaller batches.",
        )
    responses = [_serve_part(ctx, part, apis, ctx.path) for part in parts]
    return _render(parts, responses)


@route("POST", "/batch", api=PEOPLE, method_id="batch")
def batch_people_tasks(ctx: Ctx) -> Response:
    """The batch endpoint of People and Tasks."""
    return _serve(ctx, (PEOPLE, TASKS), int(ctx.state.extras.get("batch_limit", DEFAULT_LIMIT)))


@route("POST", "/batch/calendar/v3", api=CALENDAR, method_id="batch")
def batch_calendar(ctx: Ctx) -> Response:
    """The batch endpoint of Calendar v3."""
    return _serve(ctx, (CALENDAR,), int(ctx.state.extras.get("calendar_batch_limit", DEFAULT_LIMIT)))
