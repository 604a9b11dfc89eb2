"""Keep a run's lease while the run lives: a short lease, renewed from a background thread.

A lease long enough for the longest run (the run budget plus a margin: 9 minutes with the defaults)
makes a killed instance block its connection for that long: every delivery in between is skipped as
busy. A short lease renewed every ``every`` seconds by the living run frees the connection within one
lease length of a kill, and a live run still never loses it: the thread beats even while the run waits
on a slow call. If a renewal finds another holder (the run stalled past its lease and another run took
over), ``lost`` is set and the run stops at its next budget check.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from types import TracebackType
from typing import Protocol

from crmsync.store.contract import ConnectionNotFound

log = logging.getLogger(__name__)


class LeaseStore(Protocol):
    """The one store call a heartbeat makes."""

    def acquire_lease(self, connection_id: str, holder: str, ttl: timedelta, now: datetime) -> bool: ...


class LeaseHeartbeat:
    """``with LeaseHeartbeat(...) as beat:`` renews ``holder``'s lease every ``every`` seconds until the block
    ends (normally or not; it never releases the lease: the run's report does that)."""

    def __init__(
        self,
        store: LeaseStore,
        connection_id: str,
        holder: str,
        ttl: timedelta,
        every: float,
        clock: Callable[[], datetime],
    ) -> None:
        self._store, self._connection_id, self._holder = store, connection_id, holder
        self._ttl, self._every, self._clock = ttl, every, clock
        self._stop = threading.Event()
        self._lost = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"lease-{connection_id}", daemon=True)

    @property
    def lost(self) -> bool:
        """Another run holds the lease now: this run must stop."""
        return self._lost.is_set()

    def __enter__(self) -> LeaseHeartbeat:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._stop.set()
        self._thread.join()  # no renewal may land after the run's report has released the lease

    def _beat(self) -> None:
        while not self._stop.wait(self._every):
            try:
                kept = self._store.acquire_lease(self._connection_id, self._holder, self._ttl, self._clock())
            except ConnectionNotFound:
                return  # disconnected during the run: nothing left to hold
            except Exception:  # a store hiccup: the lease still has most of its length; try at the next beat
                log.warning("could not renew the run's lease; trying again", exc_info=True)
                continue
            if not kept:
                log.error("the run's lease was taken by another run; stopping this one")
                self._lost.set()
                return
