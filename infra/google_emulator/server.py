"""The emulator's WSGI application and threaded HTTP server.

One pipeline serves both plain requests and the inner calls of a batch:
``dispatch`` matches the route, authenticates the bearer token, checks the
route's scopes, counts the call, and renders ``ApiError`` in the API's shape.
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterable
from contextvars import ContextVar
from http import HTTPStatus
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import ServerHandler, WSGIRequestHandler, WSGIServer, make_server

from .core import CONTROL, OAUTH, ROUTER, ApiError, Ctx, EmulatorState, parse_query
from .partial import etag_header, not_modified, partial
from .traffic import note as note_traffic

log = logging.getLogger("google_emulator")

StartResponse = Callable[..., Any]


class Response:
    """A plain HTTP response produced by ``dispatch``."""

    def __init__(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        self.status = status
        self.body = body
        self.headers = headers or {}

    @classmethod
    def json(cls, status: int, data: dict[str, Any] | None, headers: dict[str, str] | None = None) -> Response:
        if data is None:
            return cls(status, b"", headers)
        hdrs = {"Content-Type": "application/json; charset=UTF-8", **(headers or {})}
        return cls(status, json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode(), hdrs)


def _authenticate(state: EmulatorState, ctx: Ctx, scopes: frozenset[str]) -> None:
    auth = ctx.headers.get("authorization", "")
    token_value = auth[7:].strip() if auth.lower().startswith("bearer ") else ""
    token = state.access_tokens.get(token_value) if token_value else None
    if token is None or token.expires_at <= state.clock.now():
        raise ApiError(
            401,
            "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie "
            "or other valid authentication credential.",
            reason="authError",
            location="Authorization",
            location_type="header",
            details=[
                {
                    "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                    "reason": "ACCESS_TOKEN_EXPIRED" if token else "CREDENTIALS_MISSING",
                    "domain": "googleapis.com",
                }
            ],
            headers={"WWW-Authenticate": 'Bearer realm="https://accounts.google.com/", error="invalid_token"'},
        )
    if not scopes & token.scopes:
        raise ApiError(
            403,
            "Request had insufficient authentication scopes.",
            reason="insufficientPermissions",
            details=[
                {
                    "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                    "reason": "ACCESS_TOKEN_SCOPE_INSUFFICIENT",
                    "domain": "googleapis.com",
                }
            ],
            headers={"WWW-Authenticate": 'Bearer realm="https://accounts.google.com/", error="insufficient_scope"'},
        )
    ctx.token = token
    ctx.account = state.account(token.email)


# Hooks run before a counted API call (after auth): fault injection, quotas,
# latency. Each may raise ApiError or ConnectionDrop, or return seconds of delay;
# the delay is slept OUTSIDE the global lock so latency never serializes calls.
BeforeCall = Callable[[EmulatorState, Ctx], float | None]
BEFORE_CALL: list[BeforeCall] = []


# Hooks run after every counted API call that passed the BEFORE_CALL hooks (in a ``finally``),
# e.g. to end a People mutation's in-flight window (realism.py).
AfterCall = Callable[[EmulatorState, Ctx], None]
AFTER_CALL: list[AfterCall] = []


# Observers of every API response (method id, status, body): tests validate
# bodies against the discovery schemas through this.
ResponseObserver = Callable[[str, int, bytes], None]
RESPONSE_OBSERVERS: list[ResponseObserver] = []

# Method ids whose handlers run without the global lock because they take it
# per step themselves (the batch endpoints dispatch each inner call separately).
UNLOCKED_METHOD_IDS: set[str] = set()

_IN_BATCH: ContextVar[bool] = ContextVar("google_emulator_in_batch", default=False)


def in_batch() -> bool:
    """True while serving an inner call of a batch request."""
    return _IN_BATCH.get()


class ConnectionDrop(Exception):
    """Raised by fault injection: the server closes the connection without a reply."""


def _identify(state: EmulatorState, ctx: Ctx) -> None:
    """Attach the account of a valid bearer token, if any, to an unauthenticated route (for counters)."""
    auth = ctx.headers.get("authorization", "")
    token = state.access_tokens.get(auth[7:].strip()) if auth.lower().startswith("bearer ") else None
    if token is not None and token.expires_at > state.clock.now():
        ctx.token = token
        ctx.account = state.account(token.email)


def _record_status(state: EmulatorState, who: str, method_id: str, status: int) -> None:
    with state.lock:
        by_method = state.extras.setdefault("status_counts", {}).setdefault(who, {})
        by_status = by_method.setdefault(method_id, {})
        by_status[str(status)] = by_status.get(str(status), 0) + 1


def dispatch(
    state: EmulatorState,
    method: str,
    path: str,
    query_string: str,
    headers: dict[str, str],
    body: bytes,
    *,
    inner: bool = False,
) -> Response:
    """Serve one API call (plain, or an inner call of a batch when ``inner``)."""
    override = headers.get("x-http-method-override", "")
    if method.upper() == "POST" and override:
        # googleapiclient sends a GET whose URL passes 2,000 characters as a POST
        # with this header and the query in a form-encoded body, as Google accepts.
        method = override.upper()
        if headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            query_string = "&".join(q for q in (query_string, body.decode()) if q)
            body = b""
    found = ROUTER.match(method, path)
    api = found[0].api if found else ROUTER.api_for_path(path)
    counted: tuple[str, str] | None = None
    ctx: Ctx | None = None
    batch_token = _IN_BATCH.set(inner)
    try:
        if found is None:
            raise ApiError(404, f"Method not found: {method} {path}", reason="notFound")
        rt, path_params = found
        ctx = Ctx(
            method=method.upper(),
            path=path,
            query=parse_query(query_string),
            headers=headers,
            body=body,
            path_params=path_params,
            state=state,
            api=rt.api,
            method_id=rt.method_id,
        )
        delay = 0.0
        refused: ApiError | None = None
        with state.lock:
            if rt.scopes:
                _authenticate(state, ctx, rt.scopes)
            elif rt.api not in (OAUTH, CONTROL):
                _identify(state, ctx)
            if rt.api not in (OAUTH, CONTROL):
                who = ctx.acct.email if ctx.account else "-"
                state.counters[who][rt.method_id] += 1
                counted = (who, rt.method_id)
                for hook in BEFORE_CALL:
                    try:
                        delay += hook(state, ctx) or 0.0
                    except ApiError as err:
                        refused = err
                        break
        try:
            if delay > 0:
                time.sleep(delay)
            if refused is not None:
                raise refused
            if rt.method_id in UNLOCKED_METHOD_IDS:
                reply = rt.handler(ctx)
            else:
                with state.lock:
                    reply = rt.handler(ctx)
        finally:
            if counted is not None:
                with state.lock:
                    for after in AFTER_CALL:
                        after(state, ctx)
        if isinstance(reply, Response):
            resp = reply
        elif isinstance(reply, tuple):
            resp = Response.json(reply[0], reply[1])
        else:
            resp = _json_reply(ctx, reply)
        for observe in RESPONSE_OBSERVERS:
            observe(
                rt.method_id,
                resp.status,
                resp.body if resp.headers.get("Content-Type", "").startswith("application/json") else b"",
            )
    except ApiError as err:
        resp = Response.json(err.code, err.body(api), err.headers)
    finally:
        _IN_BATCH.reset(batch_token)
    if counted is not None:
        _record_status(state, counted[0], counted[1], resp.status)
        note_traffic(state, counted[0], ctx, resp.body, inner=inner)
    return resp


def _json_reply(ctx: Ctx, data: dict[str, Any]) -> Response:
    """A 200 JSON reply as Google sends it: trimmed to ``fields``; a GET carries an ``ETag`` and
    answers ``If-None-Match`` with that tag by 304 Not Modified (partial.py)."""
    data = partial(data, ctx.param("fields"))
    resp = Response.json(200, data)
    if ctx.method == "GET":
        tag = etag_header(data, resp.body)
        if not_modified(ctx.headers.get("if-none-match"), tag):
            return Response(304, b"", {"ETag": tag})
        resp.headers["ETag"] = tag
    return resp


def reason_phrase(status: int) -> str:
    """The standard reason phrase for an HTTP status."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


def make_app(state: EmulatorState) -> Callable[[dict[str, Any], StartResponse], Iterable[bytes]]:
    """The WSGI application over ``state``."""
    from . import register_all

    register_all()

    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        headers = {k[5:].replace("_", "-").lower(): v for k, v in environ.items() if k.startswith("HTTP_")}
        if environ.get("CONTENT_TYPE"):
            headers["content-type"] = environ["CONTENT_TYPE"]
        resp = dispatch(
            state,
            environ["REQUEST_METHOD"],
            environ.get("PATH_INFO", "/"),
            environ.get("QUERY_STRING", ""),
            headers,
            body,
        )
        hdrs = [("Content-Length", str(len(resp.body))), *resp.headers.items()]
        start_response(f"{resp.status} {reason_phrase(resp.status)}", hdrs)
        return [resp.body]

    return app


class _ServerHandler(ServerHandler):
    http_version = "1.1"  # persistent connections, as Google's front ends keep them
    dropped = False

    def cleanup_headers(self) -> None:
        super().cleanup_headers()
        handler = getattr(self, "request_handler", None)
        if handler is not None and handler.close_connection:
            self.headers["Connection"] = "close"  # type: ignore[attr-defined]  # the connection ends here

    def handle_error(self) -> None:
        if isinstance(sys.exc_info()[1], ConnectionDrop):
            self.dropped = True  # write nothing; _QuietHandler closes the socket
            return
        super().handle_error()


class _QuietHandler(WSGIRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive unless the client says "Connection: close"
    timeout = 120  # an idle kept-alive connection is closed after two minutes

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        log.debug("%s - %s", self.address_string(), format % args)

    def handle(self) -> None:
        """Serve requests on one connection until the client or a dropped reply closes it."""
        self.close_connection = True
        self._serve_one()
        while not self.close_connection:
            self._serve_one()

    def _serve_one(self) -> None:
        """Serve one request like WSGIRequestHandler, but let ConnectionDrop close the socket unanswered."""
        try:
            self.raw_requestline = self.rfile.readline(65537)
        except OSError:  # idle timeout or reset
            self.close_connection = True
            return
        if not self.raw_requestline:
            self.close_connection = True
            return
        if len(self.raw_requestline) > 65536:
            self.requestline = self.request_version = self.command = ""
            self.send_error(414)
            return
        if not self.parse_request():
            return
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            self.close_connection = True  # bodies are read by Content-Length only
        handler = _ServerHandler(self.rfile, self.wfile, self.get_stderr(), self.get_environ(), multithread=False)  # type: ignore[arg-type]
        handler.request_handler = self  # type: ignore[attr-defined]
        handler.run(self.server.get_app())  # type: ignore[attr-defined]
        if handler.dropped:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)


class ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


class EmulatorServer:
    """The emulator on a background thread; ``base_url`` once started."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, state: EmulatorState | None = None) -> None:
        self.state = state or EmulatorState()
        self.httpd = make_server(
            host, port, make_app(self.state), server_class=ThreadingWSGIServer, handler_class=_QuietHandler
        )
        self.host, self.port = str(self.httpd.server_address[0]), int(self.httpd.server_address[1])
        self.base_url = f"http://{self.host}:{self.port}"
        self.state.extras["base_url"] = self.base_url
        self._thread: threading.Thread | None = None

    def start(self) -> EmulatorServer:
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="google-emulator", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
