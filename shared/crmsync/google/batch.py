"""The one HTTP batch runner of the Google adapters (Calendar, Tasks): ≤ ``max_batch`` inner calls
per ``POST /batch/...``, a result per call in call order, retry of transiently failed inner calls,
pacing under a per-user quota.

- Idempotent calls (gets, patches, deletes, Calendar inserts under our deterministic ids) that
  fail transiently are sent again in a later batch with backoff; a whole batch that fails is
  retried as a request (``retry.call_with_retry``).
- Calls that are not idempotent (Tasks inserts: a lost answer could duplicate a task) are never
  re-sent in a run: a batch holding one is sent once, and a transient failure comes back as
  the call's result; the next run's listing and the creation intents settle it.
- A wait longer than ``max_wait`` (a quota that resets in hours) is not slept through: a quota
  error is raised so the kind waits for the reset; pacing that would wait that long answers
  every call transient instead of sending it.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from googleapiclient.errors import HttpError
from googleapiclient.http import BatchHttpRequest, HttpRequest

from ..errors import CrmSyncError
from ..ports import OpCounter
from .errors import QuotaExceeded, Transient, map_error
from .pacing import Pacer
from .retry import backoff_delay, call_with_retry

MAX_BATCH = 1000  # Google's limit of inner calls per batch request


@dataclass(frozen=True)
class Call:
    """One inner call: a counter name, the request it sends, and whether it may be sent again."""

    method: str
    request: HttpRequest
    idempotent: bool = True


Outcome = dict[str, Any] | BaseException  # the response body, or the mapped error


class BatchRunner:
    """Sends calls through ``batch_uri`` (``client.Endpoint.batch_uri``); results in call order."""

    def __init__(
        self,
        batch_uri: str,
        counter: OpCounter,
        pacer: Pacer | None = None,
        *,
        api: str = "calendar",
        sleep: Callable[[float], None] = time.sleep,
        rng: Callable[[], float] = random.random,
        attempts: int = 5,
        max_batch: int = MAX_BATCH,
        max_wait: float = 65.0,
    ) -> None:
        if not 1 <= max_batch <= MAX_BATCH:
            raise ValueError(f"batch size must be 1 to {MAX_BATCH} (Google's limit), got {max_batch}")
        self.batch_uri, self.counter, self.pacer, self.api = batch_uri, counter, pacer or Pacer(), api
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
                    if isinstance(outcome, Transient) and calls[i].idempotent:
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
            return [Transient(f"per-user {self.api} quota would be exceeded", retry_after=delay) for _ in calls]
        if delay:
            self._sleep(delay)
        out: dict[str, Outcome] = {}

        def collect(request_id: str, response: Any, exception: BaseException | None) -> None:
            out[request_id] = _mapped(exception) if exception is not None else (response or {})

        def execute() -> None:
            out.clear()
            batch = BatchHttpRequest(callback=collect, batch_uri=self.batch_uri)
            for n, call in enumerate(calls):
                batch.add(call.request, request_id=str(n))
            self.counter.add(f"{self.api}.batch")
            for call in calls:
                self.counter.add(call.method)
            self.pacer.record(len(calls))
            batch.execute()

        resendable = all(c.idempotent for c in calls)
        try:
            call_with_retry(execute, attempts=self._attempts if resendable else 1, sleep=self._sleep, rng=self._rng)
        except Transient as err:
            if resendable:
                raise
            return [err for _ in calls]  # maybe applied, maybe not: transient per call, never re-sent here
        return [out.get(str(n), Transient("no answer for this call in the batch")) for n in range(len(calls))]


def _mapped(exc: BaseException) -> BaseException:
    """An inner call's error as crmsync's; an HTTP error no row of the taxonomy names is transient."""
    mapped = map_error(exc)
    if isinstance(exc, HttpError) and not isinstance(mapped, CrmSyncError):
        return Transient(str(exc))
    return mapped
