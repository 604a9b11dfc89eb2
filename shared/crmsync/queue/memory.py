"""An in-memory TaskQueue that records what was queued (tests; "Sync now" on the local stack)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class QueuedTask:
    """One task as it was enqueued."""

    connection_id: str
    name: str | None
    delay_seconds: float
    payload: dict[str, Any] = field(default_factory=dict)


class MemoryTaskQueue:
    """Records tasks in order; rejects a name it has already seen, as Cloud Tasks does."""

    def __init__(self) -> None:
        self.tasks: list[QueuedTask] = []
        self._names: set[str] = set()
        self._lock = threading.Lock()

    def enqueue(
        self, connection_id: str, *, name: str | None, delay_seconds: float = 0, payload: dict[str, Any]
    ) -> bool:
        """Record the task; False when a task of that name was already queued."""
        if not connection_id:
            raise ValueError("connection_id must be a non-empty string")
        if delay_seconds < 0:
            raise ValueError(f"delay_seconds must be >= 0, got {delay_seconds}")
        with self._lock:
            if name is not None:
                if name in self._names:
                    return False
                self._names.add(name)
            self.tasks.append(QueuedTask(connection_id, name, float(delay_seconds), dict(payload)))
        return True
