"""The reference CRM on a background thread (threaded, HTTP/1.1 keep-alive), for tests and benchmarks."""

from __future__ import annotations

import threading
from pathlib import Path

from crmsync.crm.models import Capabilities

from .app import CrmApp
from .change_hooks import ChangeNotifier
from .httpd import KeepAliveServer
from .store import CrmStore


class CrmServer:
    """The CRM Sync API over a SQLite file; ``base_url`` is valid after construction."""

    def __init__(
        self,
        db_path: str | Path,
        host: str = "127.0.0.1",
        port: int = 0,
        api_key: str = "dev-crm-key",
        capabilities: Capabilities | None = None,
        notifier: ChangeNotifier | None = None,
    ) -> None:
        self.store = CrmStore(db_path)
        self.api_key = api_key
        self.notifier = notifier  # change notifications to crmsync (started and stopped with the server)
        self.app = CrmApp(self.store, api_key, capabilities, notifier)
        self.httpd = KeepAliveServer(host, port, self.app)
        self.host, self.port = str(self.httpd.server_address[0]), int(self.httpd.server_address[1])
        self.base_url = f"http://{self.host}:{self.port}"
        self._thread: threading.Thread | None = None

    def start(self) -> CrmServer:
        """Serve on a daemon thread."""
        if self.notifier is not None:
            self.notifier.start()
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
        if self.notifier is not None:
            self.notifier.stop()
        self.store.close()

    def __enter__(self) -> CrmServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
