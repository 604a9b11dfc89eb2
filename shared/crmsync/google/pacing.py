"""Pacing under a per-user quota: a sliding-minute count of the calls made (batches count every inner call)."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

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
