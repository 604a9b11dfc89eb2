"""A deliberately broken CRM: the reference CRM behind a real HTTP server whose replies a test rewrites.

``BrokenCrm(store_path).start()`` serves the CRM Sync API on a free port; set ``rewrite`` to a function
``(method, path, status, body) -> body`` to break the JSON replies (rename a field, drop one, reorder a
feed), or ``intercept`` to answer some requests itself. Both are None by default (a correct server)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from crmsync.crm.models import Capabilities
from infra.crm.app import CrmApp
from infra.crm.httpd import KeepAliveServer
from infra.crm.store import CrmStore

Rewrite = Callable[[str, str, int, Any], Any]
Intercept = Callable[[str, str, dict[str, Any]], tuple[int, Any] | None]


class BrokenCrm:
    """The reference CRM with a hook on every JSON reply."""

    def __init__(self, db_path: str | Path, api_key: str = "k", capabilities: Capabilities | None = None) -> None:
        self.store = CrmStore(db_path)
        self.inner = CrmApp(self.store, api_key, capabilities)
        self.rewrite: Rewrite | None = None
        self.intercept: Intercept | None = None
        self.httpd = KeepAliveServer("127.0.0.1", 0, self)
        self.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self._thread: threading.Thread | None = None

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        method, path = environ["REQUEST_METHOD"], environ.get("PATH_INFO", "/")
        if self.intercept is not None:
            answer = self.intercept(method, path, environ)
            if answer is not None:
                status, payload = answer
                body = json.dumps(payload).encode()
                ctype = "application/problem+json" if status >= 400 else "application/json"
                start_response(f"{status} X", [("Content-Type", ctype), ("Content-Length", str(len(body)))])
                return [body]
        reply: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
            reply["status"], reply["headers"] = status, headers

        body = b"".join(self.inner(environ, capture))
        status = int(reply["status"].split(" ", 1)[0])
        headers = [(k, v) for k, v in reply["headers"] if k.lower() != "content-length"]
        ctype = {k.lower(): v for k, v in headers}.get("content-type", "")
        if self.rewrite is not None and body and "json" in ctype:
            body = json.dumps(self.rewrite(method, path, status, json.loads(body))).encode()
        start_response(reply["status"], [*headers, ("Content-Length", str(len(body)))])
        return [body]

    def start(self) -> BrokenCrm:
        self._thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.store.close()


def rename_field(old: str, new: str) -> Rewrite:
    """A rewrite renaming field ``old`` to ``new`` in every record of every reply (e.g. phones -> phone_numbers)."""

    def walk(value: Any) -> Any:
        if isinstance(value, dict):
            return {(new if k == old else k): walk(v) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v) for v in value]
        return value

    return lambda _method, _path, _status, body: walk(body)
