"""Retry of Google calls: exponential backoff with full jitter, honouring Retry-After; ``Caller``, the
one wrapper every adapter sends its single requests through."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any, TypeVar

from ..ports import OpCounter
from .errors import Transient, map_error
from .pacing import Pacer

T = TypeVar("T")


def backoff_delay(attempt: int, *, base: float, cap: float, rng: Callable[[], float]) -> float:
    """Full-jitter delay before retry number ``attempt`` (0-based): uniform in [0, min(cap, base * 2**attempt))."""
    return rng() * min(cap, base * 2.0**attempt)


def call_with_retry(
    fn: Callable[[], T],
    *,
    attempts: int = 5,
    sleep: Callable[[float], None] = time.sleep,
    rng: Callable[[], float] = random.random,
    base: float = 1.0,
    cap: float = 32.0,
    max_wait: float = 60.0,
) -> T:
    """Call ``fn``; map failures to crmsync errors; retry ``Transient`` ones up to ``attempts`` calls in all.

    A Retry-After longer than ``max_wait`` is not slept through here: the
    ``Transient`` error is raised at once so the task queue retries later.
    """
    if attempts < 1:
        raise ValueError(f"attempts must be at least 1, got {attempts}")
    for attempt in range(attempts):
        try:
            return fn()
        except Exception as exc:
            mapped = map_error(exc)
            if not isinstance(mapped, Transient):
                if mapped is exc:
                    raise
                raise mapped from exc
            wait = max(mapped.retry_after or 0.0, backoff_delay(attempt, base=base, cap=cap, rng=rng))
            if attempt == attempts - 1 or wait > max_wait:
                if mapped is exc:
                    raise
                raise mapped from exc
            sleep(wait)
    raise AssertionError("unreachable")  # pragma: no cover


class Caller:
    """The one way an adapter sends a single Google request: counted (and paced) per attempt,
    mapped to crmsync's errors and retried with backoff while transient (``call_with_retry``)."""

    def __init__(
        self,
        counter: OpCounter,
        *,
        pacer: Pacer | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rng: Callable[[], float] = random.random,
        attempts: int = 5,
    ) -> None:
        self.counter, self.pacer = counter, pacer
        self.sleep, self.rng, self.attempts = sleep, rng, attempts

    def __call__(self, method: str, request: Callable[[], Any]) -> dict[str, Any]:
        """Execute the request ``request()`` builds; its JSON body (``{}`` when there is none)."""

        def attempt() -> dict[str, Any]:
            self.counter.add(method)
            if self.pacer is not None:
                self.pacer.record(1)
            result = request().execute()
            return result if isinstance(result, dict) else {}

        return call_with_retry(attempt, attempts=self.attempts, sleep=self.sleep, rng=self.rng)
