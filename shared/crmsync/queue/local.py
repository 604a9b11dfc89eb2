"""An in-process TaskQueue for the local stack that behaves like Cloud Tasks where it matters:
at-least-once delivery, retries with exponential backoff on non-2xx, delayed tasks, and
name de-duplication that lasts a retention window after the task ran."""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import requests

log = logging.getLogger(__name__)

Deliver = Callable[[dict[str, Any]], int]  # takes the payload, returns an HTTP status code
DEDUPE_WINDOW_SECONDS = 3600.0  # Cloud Tasks keeps a task name reserved for ~1 h after the task ends


@dataclass(frozen=True)
class Backoff:
    """Retry policy, shaped like a Cloud Tasks queue's retry_config."""

    min_seconds: float = 1.0
    max_seconds: float = 300.0
    max_doublings: int = 16
    max_attempts: int = 10  # 0: retry forever

    def delay(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        return float(min(self.max_seconds, self.min_seconds * 2 ** min(attempt - 1, self.max_doublings)))


@dataclass(frozen=True)
class Attempt:
    """One delivery attempt and its HTTP status (599 when the call itself failed)."""

    name: str | None
    connection_id: str
    attempt: int
    status: int


@dataclass(order=True)
class _Entry:
    due: float
    seq: int
    connection_id: str = field(compare=False)
    name: str | None = field(compare=False)
    payload: dict[str, Any] = field(compare=False)
    attempt: int = field(default=0, compare=False)


class HttpDeliver:
    """Delivers a payload as a JSON POST to a URL (the local worker function)."""

    def __init__(self, url: str, headers: Mapping[str, str] | None = None, timeout_seconds: float = 600.0) -> None:
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"worker URL must be http(s), got {url!r}")
        self.url = url
        self.headers = dict(headers or {})
        self.timeout = timeout_seconds
        self._session = requests.Session()

    def __call__(self, payload: dict[str, Any]) -> int:
        """POST the payload; the worker's status code (599 if it could not be reached)."""
        try:
            resp = self._session.post(self.url, json=payload, headers=self.headers, timeout=self.timeout)
        except requests.RequestException as err:
            log.warning("task delivery to %s failed: %s", self.url, type(err).__name__)
            return 599
        return resp.status_code


class LocalTaskQueue:
    """Worker threads deliver due tasks; non-2xx or an exception schedules a retry with backoff."""

    def __init__(
        self,
        deliver: Deliver | str,
        *,
        workers: int = 2,
        headers: Mapping[str, str] | None = None,
        backoff: Backoff = Backoff(),
        dedupe_window_seconds: float = DEDUPE_WINDOW_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if workers < 1:
            raise ValueError(f"workers must be >= 1, got {workers}")
        self._deliver: Deliver = HttpDeliver(deliver, headers) if isinstance(deliver, str) else deliver
        self.backoff = backoff
        self._window = dedupe_window_seconds
        self._clock = clock
        self._heap: list[_Entry] = []
        self._names: dict[str, float] = {}  # name -> reserved until (inf while the task exists)
        self._seq = itertools.count()
        self._busy = 0
        self._stopping = False
        self._cond = threading.Condition()
        self.attempts: list[Attempt] = []
        self.dead: list[Attempt] = []  # tasks dropped after max_attempts
        self._threads = [
            threading.Thread(target=self._run, name=f"local-queue-{i}", daemon=True) for i in range(workers)
        ]
        for thread in self._threads:
            thread.start()

    def enqueue(
        self, connection_id: str, *, name: str | None, delay_seconds: float = 0, payload: dict[str, Any]
    ) -> bool:
        """Queue the task; False when a task of that name exists or ended within the dedupe window."""
        if not connection_id:
            raise ValueError("connection_id must be a non-empty string")
        if delay_seconds < 0:
            raise ValueError(f"delay_seconds must be >= 0, got {delay_seconds}")
        with self._cond:
            if self._stopping:
                raise RuntimeError("the local queue is stopped; it accepts no more tasks")
            now = self._clock()
            if name is not None:
                if self._names.get(name, now) > now:
                    return False
                self._names[name] = float("inf")
            entry = _Entry(now + delay_seconds, next(self._seq), connection_id, name, dict(payload))
            heapq.heappush(self._heap, entry)
            self._cond.notify()
        return True

    def pending(self) -> int:
        """Tasks waiting or being delivered."""
        with self._cond:
            return len(self._heap) + self._busy

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Block until no task is waiting or running (delayed tasks count as waiting); True if idle."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._heap or self._busy:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 0.05))
        return True

    def stop(self, timeout: float = 10.0) -> int:
        """Stop taking tasks, let deliveries in flight finish, and return how many waiting tasks were dropped."""
        with self._cond:
            self._stopping = True
            dropped = len(self._heap)
            self._heap.clear()
            self._cond.notify_all()
        for thread in self._threads:
            thread.join(timeout)
        if dropped:
            log.warning("local queue stopped with %d undelivered task(s)", dropped)
        return dropped

    # ------------------------------------------------------------------ worker threads

    def _next(self) -> _Entry | None:
        with self._cond:
            while not self._stopping:
                now = self._clock()
                if self._heap and self._heap[0].due <= now:
                    self._busy += 1
                    return heapq.heappop(self._heap)
                wait = (self._heap[0].due - now) if self._heap else None
                self._cond.wait(min(wait, 0.5) if wait is not None else 0.5)
            return None

    def _run(self) -> None:
        while (entry := self._next()) is not None:
            entry.attempt += 1
            try:
                status = self._deliver(entry.payload)
            except Exception:  # a crashing handler is a failed attempt, as a 500 would be
                log.exception("local task %s: delivery raised", entry.name or entry.connection_id)
                status = 500
            attempt = Attempt(entry.name, entry.connection_id, entry.attempt, status)
            with self._cond:
                self._busy -= 1
                self.attempts.append(attempt)
                now = self._clock()
                if 200 <= status < 300:
                    self._finish(entry, now)
                elif self.backoff.max_attempts and entry.attempt >= self.backoff.max_attempts:
                    self.dead.append(attempt)
                    self._finish(entry, now)
                    log.warning("local task %s dropped after %d attempts", entry.name, entry.attempt)
                elif not self._stopping:
                    entry.due = now + self.backoff.delay(entry.attempt)
                    heapq.heappush(self._heap, entry)
                self._cond.notify_all()

    def _finish(self, entry: _Entry, now: float) -> None:
        if entry.name is not None:
            self._names[entry.name] = now + self._window
        if len(self._names) > 10_000:  # forget names whose window has passed
            self._names = {n: t for n, t in self._names.items() if t > now}
