"""The reference CRM on a background thread (threaded, HTTP/1.1 keep-alive), for tests and benchmarks."""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from .app import CrmApp
from .store import CrmStore


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        logging.getLogger("infra.crm.access").debug("%s %s %s", self.command, self.path, code)

    def log(self, type: str, message: str, *args: Any) -> None:  # noqa: A002
        logging.getLogger("infra.crm.access").debug(message, *args)


class CrmServer:
    """The CRM Sync API over a SQLite file; ``base_url`` is valid after construction."""

    def __init__(
        self, db_path: str | Path, host: str = "127.0.0.1", port: int = 0, api_key: str = "dev-crm-key"
    ) -> None:
        self.store = CrmStore(db_path)
        self.api_key = api_key
        self.app = CrmApp(self.store, api_key)
        self.httpd: BaseWSGIServer = make_server(host, port, self.app, threaded=True, request_handler=_QuietHandler)
        self.httpd.daemon_threads = True  # type: ignore[attr-defined]
        self.host, self.port = str(self.httpd.server_address[0]), int(self.httpd.server_address[1])
        self.base_url = f"http://{self.host}:{self.port}"
        self._thread: threading.Thread | None = None

    def start(self) -> CrmServer:
        """Serve on a daemon thread."""
        self._thread = threading.Thread(
            target=self.httpd.serve_forever, args=(0.05,), name="reference-crm", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the database."""
        self.httpd.shutdown()
        self.httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.store.close()

    def __enter__(self) -> CrmServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
