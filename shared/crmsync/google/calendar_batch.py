"""Calendar HTTP batch requests (≤ 1000 inner calls each) with per-call results,
retry of transiently failed inner calls, and pacing under the per-user quota."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from googleapiclient.http import BatchHttpRequest, HttpRequest

from ..ports import OpCounter
from .errors import QuotaExceeded, Transient, map_error
from .retry import backoff_delay, call_with_retry

MAX_BATCH = 1000
WINDOW = 60.0  # seconds: Google's per-user quota is a sliding minute


@dataclass
class Pacer:
    """A sliding-window count of calls against ``per_minute`` (None: no pacing). Batches count every inner call."""

    per_minute: int | None = None
    clock: Callable[[], float] = time.monotonic
    _stamps: deque[tuple[float, int]] = field(default_factory=deque, init=False)

    def _used(self) -> int:
        now = self.clock()
        while self._stamps and self._stamps[0][0] <= now - WINDOW:
            self._stamps.popleft()
        return sum(n for _, n in self._stamps)

    def room(self) -> int:
        """Calls that may still be made in the current window."""
        return 1_000_000_000 if self.per_minute is None else max(0, self.per_minute - self._used())

    def record(self, n: int) -> None:
        """Count ``n`` calls made now."""
        if self.per_minute is not None and n:
            self._stamps.append((self.clock(), n))

    def wait_for(self, n: int) -> float:
        """Seconds until ``n`` more calls fit in the window."""
        if self.per_minute is None or self.room() >= n:
            return 0.0
        now, freed, need = self.clock(), 0, n - self.room()
        for stamp, count in self._stamps:
            freed += count
            if freed >= need:
                return max(0.0, stamp + WINDOW - now)
        return WINDOW


@dataclass(frozen=True)
class Call:
    """One inner call: a counter name and the request it sends."""

    method: str
    request: HttpRequest


Outcome = dict[str, Any] | BaseException  # the response body, or the mapped error


class BatchRunner:
    """Sends calls through ``POST /batch/calendar/v3``; results in call order."""

    def __init__(
        self,
        batch_uri: str,
        counter: OpCounter,
        pacer: Pacer,
        *,
        sleep: Callable[[float], None] = time.sleep,
        rng: Callable[[], float] = lambda: 0.5,
        attempts: int = 5,
        max_batch: int = MAX_BATCH,
        max_wait: float = 65.0,
    ) -> None:
        self.batch_uri, self.counter, self.pacer = batch_uri, counter, pacer
        self._sleep, self._rng, self._attempts = sleep, rng, attempts
        self.max_batch, self.max_wait = max_batch, max_wait

    def run(self, calls: Sequence[Call]) -> list[Outcome]:
        """Execute every call; transient inner failures are retried with backoff, then returned as errors."""
        results: list[Outcome | None] = [None] * len(calls)
        pending = list(range(len(calls)))
        for attempt in range(self._attempts):
            retry: list[int] = []
            wait = 0.0
            for start in range(0, len(pending), self.max_batch):
                part = pending[start : start + self.max_batch]
                for i, outcome in zip(part, self._send([calls[i] for i in part]), strict=True):
                    results[i] = outcome
                    if isinstance(outcome, Transient):
                        retry.append(i)
                        wait = max(wait, outcome.retry_after or 0.0)
            if not retry or attempt == self._attempts - 1:
                break
            if wait > self.max_wait:
                # A quota that resets in hours (usage limits, the daily quota): sleeping through it
                # would outlive the run. Raised, so the run stops here and the kind waits for the reset.
                quotas = [q for q in (results[i] for i in retry) if isinstance(q, QuotaExceeded)]
                if quotas:
                    raise max(quotas, key=lambda q: q.retry_after or 0.0)
                break
            self._sleep(max(wait, backoff_delay(attempt, base=1.0, cap=32.0, rng=self._rng)))
            pending = retry
        return [r if r is not None else Transient("batch call not sent") for r in results]

    def _send(self, calls: Sequence[Call]) -> list[Outcome]:
        if not calls:
            return []
        delay = self.pacer.wait_for(len(calls))
        if delay > self.max_wait:
            return [Transient("per-user Calendar quota would be exceeded", retry_after=delay) for _ in calls]
        if delay:
            self._sleep(delay)
        out: dict[str, Outcome] = {}

        def collect(request_id: str, response: Any, exception: BaseException | None) -> None:
            out[request_id] = map_error(exception) if exception is not None else (response or {})

        def execute() -> None:
            out.clear()
            batch = BatchHttpRequest(callback=collect, batch_uri=self.batch_uri)
            for n, call in enumerate(calls):
                batch.add(call.request, request_id=str(n))
            self.counter.add("calendar.batch")
            for call in calls:
                self.counter.add(call.method)
            self.pacer.record(len(calls))
            batch.execute()

        call_with_retry(execute, attempts=self._attempts, sleep=self._sleep, rng=self._rng)
        return [out.get(str(n), Transient("no response for a batch part")) for n in range(len(calls))]
