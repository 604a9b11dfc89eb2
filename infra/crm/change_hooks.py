"""The reference CRM tells crmsync when records change (docs/crm-sync-api.md "Change notifications").

Every write through the API (create, update, delete, bulk) names the kinds and the users whose records
changed (the owner before and after). A background thread gathers them for ``coalesce_s`` and sends
one signed ``POST <url>`` per user: ``{"id", "user_id", "kinds"}`` with ``X-CrmSync-Timestamp`` and
``X-CrmSync-Signature`` (crmsync.security.webhooks.sign). A failed call (network error, 408, 429,
5xx) is sent again with backoff, each attempt with a new id and a fresh signature; other 4xx are
given up and logged. Writes made by crmsync itself (``User-Agent: crmsync/...``) are not notified:
crmsync knows what it wrote."""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import requests

from crmsync.security.webhooks import sign

log = logging.getLogger("infra.crm.change_hooks")
RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
CRMSYNC_AGENT = "crmsync/"


@dataclass(frozen=True)
class Delivery:
    """One attempt, for tests and the log."""

    id: str
    user_id: str
    kinds: tuple[str, ...]
    status: int | None  # None: no reply (network error)
    attempt: int


class ChangeNotifier:
    """Gathers (user, kind) changes and delivers them as signed webhooks, with retries."""

    def __init__(
        self,
        url: str,
        secret: bytes,
        *,
        coalesce_s: float = 0.2,
        attempts: int = 6,
        backoff_s: float = 0.5,
        timeout_s: float = 5.0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.url, self.secret = url, secret
        self.coalesce_s, self.attempts, self.backoff_s, self.timeout_s = coalesce_s, attempts, backoff_s, timeout_s
        self.clock = clock
        self.deliveries: deque[Delivery] = deque(maxlen=1000)
        self._pending: dict[str, set[str]] = {}
        self._cond = threading.Condition()
        self._stop = False
        self._session = requests.Session()
        self._thread = threading.Thread(target=self._run, name="crm-change-hooks", daemon=True)

    def start(self) -> ChangeNotifier:
        self._thread.start()
        return self

    def stop(self, drain_s: float = 2.0) -> None:
        """Send what is pending (for up to ``drain_s``), then stop."""
        deadline = time.monotonic() + drain_s
        with self._cond:
            while self._pending and time.monotonic() < deadline:
                self._cond.wait(0.05)
            self._stop = True
            self._cond.notify_all()
        self._thread.join(timeout=drain_s + self.timeout_s)
        self._session.close()

    def changed(self, kind: str, owners: set[str | None]) -> None:
        """Records of ``kind`` owned by ``owners`` changed."""
        users = {o for o in owners if o}
        if not users:
            return
        with self._cond:
            for user in users:
                self._pending.setdefault(user, set()).add(kind)
            self._cond.notify_all()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._pending and not self._stop:
                    self._cond.wait()
                if self._stop and not self._pending:
                    return
            time.sleep(self.coalesce_s)  # a burst of writes becomes one call per user
            with self._cond:
                batch, self._pending = self._pending, {}
                self._cond.notify_all()
            for user, kinds in sorted(batch.items()):
                self._deliver(user, tuple(sorted(kinds)))

    def _deliver(self, user: str, kinds: tuple[str, ...]) -> None:
        for attempt in range(1, self.attempts + 1):
            delivery_id = f"evt-{uuid.uuid4().hex}"  # new for every attempt: crmsync refuses a replayed id
            body = json.dumps({"id": delivery_id, "user_id": user, "kinds": list(kinds)}).encode()
            headers = {"Content-Type": "application/json", **sign(self.secret, body, self.clock())}
            status: int | None
            try:
                status = self._session.post(self.url, data=body, headers=headers, timeout=self.timeout_s).status_code
            except requests.RequestException as err:
                log.warning("change notification to %s failed: %s", self.url, err)
                status = None
            self.deliveries.append(Delivery(delivery_id, user, kinds, status, attempt))
            if status is not None and status not in RETRY_STATUSES:
                if status >= 400:
                    log.error("crmsync refused a change notification (%s); not retried", status)
                return
            if attempt < self.attempts:
                time.sleep(min(30.0, self.backoff_s * 2 ** (attempt - 1)))
        log.error("gave up a change notification for %s after %d attempts", user, self.attempts)


def from_crmsync(user_agent: str | None) -> bool:
    """True for crmsync's own requests (their changes are not notified back)."""
    return (user_agent or "").startswith(CRMSYNC_AGENT)
