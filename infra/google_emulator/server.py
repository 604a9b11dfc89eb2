"""The emulator's WSGI application and threaded HTTP server.

One pipeline serves both plain requests and the inner calls of a batch:
``dispatch`` matches the route, authenticates the bearer token, checks the
route's scopes, counts the call, and renders ``ApiError`` in the API's shape.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterable
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from .core import CONTROL, OAUTH, PEOPLE, ROUTER, ApiError, Ctx, EmulatorState, parse_query

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
        return cls(status, json.dumps(data).encode(), hdrs)


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
            details=[{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "ACCESS_TOKEN_EXPIRED" if token else "CREDENTIALS_MISSING", "domain": "googleapis.com"}],
            headers={"WWW-Authenticate": 'Bearer realm="https://accounts.google.com/", error="invalid_token"'},
        )
    if not scopes & token.scopes:
        raise ApiError(
            403,
            "Request had insufficient authentication scopes.",
            reason="insufficientPermissions",
            details=[{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "ACCESS_TOKEN_SCOPE_INSUFFICIENT", "domain": "googleapis.com"}],
            headers={"WWW-Authenticate": 'Bearer realm="https://accounts.google.com/", error="insufficient_scope"'},
        )
    ctx.token = token
    ctx.account = state.account(token.email)


# Hooks run before a counted API call (after auth): fault injection, quotas,
# latency. Each may raise ApiError or a ConnectionDrop. Registered by controls.
BeforeCall = Callable[[EmulatorState, Ctx], None]
BEFORE_CALL: list[BeforeCall] = []


# Observers of every API response (method id, status, body): tests validate
# bodies against the discovery schemas through this.
ResponseObserver = Callable[[str, int, bytes], None]
RESPONSE_OBSERVERS: list[ResponseObserver] = []


class ConnectionDrop(Exception):
    """Raised by fault injection: the server closes the connection without a reply."""


def dispatch(state: EmulatorState, method: str, path: str, query_string: str, headers: dict[str, str], body: bytes) -> Response:
    """Serve one API call (plain or inside a batch)."""
    found = ROUTER.match(method, path)
    api = found[0].api if found else ROUTER.api_for_path(path)
    try:
        if found is None:
            raise ApiError(404, f"Method not found: {method} {path}", reason="notFound")
        rt, path_params = found
        ctx = Ctx(
            method=method.upper(), path=path, query=parse_query(query_string), headers=headers, body=body,
            path_params=path_params, state=state, api=rt.api, method_id=rt.method_id,
        )
        with state.lock:
            if rt.scopes:
                _authenticate(state, ctx, rt.scopes)
            if rt.api not in (OAUTH, CONTROL):
                for hook in BEFORE_CALL:
                    hook(state, ctx)
                state.counters[ctx.acct.email if ctx.account else "-"][rt.method_id] += 1
            reply = rt.handler(ctx)
        if isinstance(reply, Response):
            resp = reply
        elif isinstance(reply, tuple):
            resp = Response.json(reply[0], reply[1])
        else:
            resp = Response.json(200, reply)
        for observe in RESPONSE_OBSERVERS:
            observe(rt.method_id, resp.status, resp.body if resp.headers.get("Content-Type", "").startswith("application/json") else b"")
        return resp
    except ApiError as err:
        return Response.json(err.code, err.body(api), err.headers)


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
        try:
            resp = dispatch(state, environ["REQUEST_METHOD"], environ.get("PATH_INFO", "/"), environ.get("QUERY_STRING", ""), headers, body)
        except ConnectionDrop:
            environ["emulator.drop"]()
            return []
        reason = {200: "OK", 204: "No Content", 302: "Found"}.get(resp.status, "Status")
        hdrs = [("Content-Length", str(len(resp.body))), *resp.headers.items()]
        start_response(f"{resp.status} {reason}", hdrs)
        return [resp.body]

    return app


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        log.debug("%s - %s", self.address_string(), format % args)

    def get_environ(self) -> dict[str, Any]:
        env = super().get_environ()

        def drop() -> None:
            self.close_connection = True
            raise ConnectionDrop

        env["emulator.drop"] = drop
        return env

    def handle_one_request(self) -> None:
        try:
            super().handle_one_request()
        except ConnectionDrop:
            # Close the socket without writing a status line.
            self.close_connection = True


class ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


class EmulatorServer:
    """The emulator on a background thread; ``base_url`` once started."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, state: EmulatorState | None = None) -> None:
        self.state = state or EmulatorState()
        self.httpd = make_server(host, port, make_app(self.state), server_class=ThreadingWSGIServer, handler_class=_QuietHandler)
        self.host, self.port = self.httpd.server_address[:2]
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
