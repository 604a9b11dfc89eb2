"""Tasks writes and reads through the HTTP batch endpoint, with a result per inner call.

Inner calls of idempotent methods (get, patch, delete) that fail transiently are
sent again in a later batch with backoff; inserts are never re-sent within a
run (a lost answer could otherwise duplicate a task): they come back as
transient results, and the next run's listing plus the creation intents settle them.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from googleapiclient.errors import HttpError
from googleapiclient.http import BatchHttpRequest

from ..errors import CrmSyncError
from ..ports import OpCounter
from .errors import Transient, map_error
from .retry import backoff_delay, call_with_retry

DEFAULT_BATCH_SIZE = 100  # Google allows 1000 calls per batch; Tasks is safer well below that


@dataclass(frozen=True)
class Call:
    """One inner call: a result key, the method id (for counting) and a request factory."""

    key: str
    method: str
    request: Callable[[], Any]
    idempotent: bool = True


@dataclass(frozen=True)
class Outcome:
    """The answer to one inner call: the JSON body, or the mapped error."""

    body: dict[str, Any] | None = None
    error: BaseException | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def transient(self) -> bool:
        return isinstance(self.error, Transient)

    @property
    def status(self) -> int | None:
        return getattr(self.error, "status", None)


@dataclass
class BatchRunner:
    """Runs ``Call``s in HTTP batches of ``size`` against ``batch_uri``."""

    batch_uri: str
    counter: OpCounter
    size: int = DEFAULT_BATCH_SIZE
    attempts: int = 5
    sleep: Callable[[float], None] = time.sleep
    rng: Callable[[], float] = random.random

    def __post_init__(self) -> None:
        if not 1 <= self.size <= 1000:
            raise ValueError(f"batch size must be 1 to 1000 (Google's limit), got {self.size}")

    def run(self, calls: Sequence[Call]) -> dict[str, Outcome]:
        """Every call's outcome by key; raises only when a whole batch keeps failing."""
        out: dict[str, Outcome] = {}
        todo = list(calls)
        for attempt in range(self.attempts):
            retry: list[Call] = []
            wait = backoff_delay(attempt, base=1.0, cap=32.0, rng=self.rng)
            for start in range(0, len(todo), self.size):
                part = todo[start : start + self.size]
                for call, outcome in zip(part, self._send(part), strict=True):
                    if outcome.transient and call.idempotent and attempt < self.attempts - 1:
                        retry.append(call)
                        wait = max(wait, getattr(outcome.error, "retry_after", None) or 0.0)
                    else:
                        out[call.key] = outcome
            if not retry:
                break
            self.sleep(wait)
            todo = retry
        return out

    def _send(self, part: Sequence[Call]) -> list[Outcome]:
        """One batch request; a failure of the whole batch is retried only if every call is idempotent."""
        answers: dict[str, Outcome] = {}

        def callback(request_id: str, response: Any, exception: BaseException | None) -> None:
            if exception is not None:
                answers[request_id] = Outcome(error=_mapped(exception))
            else:
                answers[request_id] = Outcome(body=response if isinstance(response, dict) else {})

        def execute() -> None:
            answers.clear()
            batch = BatchHttpRequest(callback=callback, batch_uri=self.batch_uri)
            for index, call in enumerate(part):
                batch.add(call.request(), request_id=str(index))
            self.counter.add("tasks.batch")
            for call in part:
                self.counter.add(call.method)
            batch.execute()

        attempts = self.attempts if all(c.idempotent for c in part) else 1
        try:
            call_with_retry(execute, attempts=attempts, sleep=self.sleep, rng=self.rng)
        except Transient as err:
            if attempts > 1:
                raise
            # Inserts whose batch failed: maybe applied, maybe not. Transient per call; never re-sent here.
            return [Outcome(error=err) for _ in part]
        return [
            answers.get(str(i), Outcome(error=Transient("no answer for this call in the batch")))
            for i in range(len(part))
        ]


def _mapped(exc: BaseException) -> BaseException:
    mapped = map_error(exc)
    if isinstance(exc, HttpError) and not isinstance(mapped, CrmSyncError):
        return Transient(str(exc))
    return mapped
