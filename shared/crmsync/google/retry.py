"""Retry of Google calls: exponential backoff with full jitter, honouring Retry-After."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

from .errors import Transient, map_error

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
