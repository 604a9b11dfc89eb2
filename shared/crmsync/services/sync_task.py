"""The body of a sync task, built and read here only (fan-out, "Sync now", push, and the
worker's continuations and reruns all enqueue ``SyncTask(...).body()``)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from crmsync.model.ids import is_connection_id
from crmsync.model.kinds import Kind

NOTIFY_REASON = "notify"  # a task that only delivers what the CRM has not confirmed (notify_crm.py)
REASONS = ("tick", "sync_now", "continuation", "rerun", "push", NOTIFY_REASON)
MAX_CONTINUATION = 1_000_000
_TASK_NAME = re.compile(r"[\x21-\x7e]{1,500}")


class InvalidTask(ValueError):
    """The task body is not a sync task (HTTP 400: retrying the same body cannot help)."""


@dataclass(frozen=True)
class SyncTask:
    """The body of a sync task."""

    connection_id: str
    reason: str = "tick"
    task: str | None = None  # this task's name, if it has one (duplicate deliveries carry the same)
    root: str | None = None  # the task that started a continuation chain
    continuation: int = 0
    kinds: tuple[Kind, ...] | None = None  # only these kinds (a push names what changed); None: every kind

    @property
    def key(self) -> str | None:
        """What identifies this delivery's work: a redelivery of a finished task is skipped."""
        return None if self.task is None else f"{self.task}#{self.continuation}"

    @classmethod
    def parse(cls, payload: Any) -> SyncTask:
        """Validate a task body; InvalidTask says what is wrong."""
        if not isinstance(payload, dict):
            raise InvalidTask("the task body must be a JSON object with connection_id")
        cid = payload.get("connection_id")
        if not is_connection_id(cid):
            raise InvalidTask("connection_id must be 1-200 characters from A-Z, a-z, 0-9, '_' and '-'")
        reason = payload.get("reason", "tick")
        if reason not in REASONS:
            raise InvalidTask(f"reason must be one of {', '.join(REASONS)}, got {reason!r}")
        task, root = payload.get("task"), payload.get("root")
        for name, value in (("task", task), ("root", root)):
            if value is not None and not (isinstance(value, str) and _TASK_NAME.fullmatch(value)):
                raise InvalidTask(f"{name} must be 1-500 printable ASCII characters when given")
        n = payload.get("continuation", 0)
        if isinstance(n, bool) or not isinstance(n, int) or not 0 <= n <= MAX_CONTINUATION:
            raise InvalidTask(
                f"continuation must be a non-negative whole number up to {MAX_CONTINUATION}, got {str(n)[:30]}"
            )
        return cls(cid, reason, task, root, n, _parse_kinds(payload.get("kinds")))

    def body(self) -> dict[str, Any]:
        """The JSON body of this task."""
        out: dict[str, Any] = {"connection_id": self.connection_id, "reason": self.reason}
        if self.task is not None:
            out["task"] = self.task
        if self.root is not None:
            out["root"] = self.root
        if self.continuation:
            out["continuation"] = self.continuation
        if self.kinds is not None:
            out["kinds"] = [k.value for k in self.kinds]
        return out


def _parse_kinds(raw: Any) -> tuple[Kind, ...] | None:
    """The task's kinds: absent means every enabled kind; else a non-empty list of distinct kind names."""
    if raw is None:
        return None
    names = [k.value for k in Kind]
    if not isinstance(raw, list) or not raw or len(raw) > len(names):
        raise InvalidTask(f"kinds must be a non-empty list of {', '.join(names)} when given")
    if any(not isinstance(k, str) or k not in names for k in raw) or len(set(raw)) != len(raw):
        raise InvalidTask(f"kinds must name distinct kinds from {', '.join(names)}")
    return tuple(Kind(k) for k in raw)
