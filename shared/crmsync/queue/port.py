"""The TaskQueue port: enqueue one sync task for a connection."""

from __future__ import annotations

from typing import Any, Protocol


class TaskQueue(Protocol):
    """Queues sync tasks; a named task is created at most once (within the provider's dedupe window)."""

    def enqueue(
        self, connection_id: str, *, name: str | None, delay_seconds: float = 0, payload: dict[str, Any]
    ) -> bool:
        """Queue a task for the connection; False when a task of that name already exists."""
        ...
