"""Debounced sync requests: a burst of change notifications for one connection becomes one run.

A notification (a Google Calendar push, a CRM webhook) asks for a sync of some kinds of one
connection. Time is cut into windows of ``window_seconds``; every request in one window maps to one
named task that runs when the window ends, so a burst of notifications is one run a few seconds
later. The queue refuses a second task of the same name (Cloud Tasks' name dedupe; the local and
memory queues behave the same), which is what merges the burst. Two runs of one connection never
overlap: the lease stays the guard, and a push task that finds the lease held asks the running sync
to go again right after (the worker's rerun), so a change made during a run is not lost.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from crmsync.model.ids import is_connection_id
from crmsync.model.kinds import Kind
from crmsync.queue.port import TaskQueue
from crmsync.services.sync_task import SyncTask

DEBOUNCE_SECONDS = 5.0  # a burst within one window is one run at the window's end
MAX_WINDOW_SECONDS = 300.0
PUSH_REASON = "push"


@dataclass(frozen=True)
class DebouncedSync:
    """What one request did: the task of its window, and whether this request created it."""

    task_name: str
    enqueued: bool  # False: the window's task already existed (merged into it)
    delay_seconds: float
    kinds: tuple[Kind, ...]


def push_task_name(connection_id: str, kinds: tuple[Kind, ...], window: int) -> str:
    """The task name of a connection's push run for these kinds in one window (a valid Cloud Tasks id)."""
    return f"{connection_id}-push-{'-'.join(k.value for k in kinds)}-{window}"


def request_sync(
    queue: TaskQueue,
    connection_id: str,
    kinds: Iterable[Kind],
    now: datetime,
    *,
    window_seconds: float = DEBOUNCE_SECONDS,
) -> DebouncedSync:
    """Queue (or join) the one run of ``kinds`` of the connection for the window ``now`` falls in.

    The task is delayed to the end of the window; requests later in the same window return
    ``enqueued=False``. A request in the next window queues the next run.
    """
    if not is_connection_id(connection_id):
        raise ValueError("connection_id must be 1-200 characters from A-Z, a-z, 0-9, '_' and '-'")
    chosen = tuple(sorted(set(kinds), key=list(Kind).index))
    if not chosen:
        raise ValueError("request_sync needs at least one kind")
    if not 0 < window_seconds <= MAX_WINDOW_SECONDS:
        raise ValueError(f"window_seconds must be in (0, {MAX_WINDOW_SECONDS}], got {window_seconds}")
    stamp = now.timestamp()
    window = math.floor(stamp / window_seconds)
    delay = max(0.0, (window + 1) * window_seconds - stamp)
    name = push_task_name(connection_id, chosen, window)
    payload = SyncTask(connection_id, PUSH_REASON, name, kinds=chosen).body()
    enqueued = queue.enqueue(connection_id, name=name, delay_seconds=delay, payload=payload)
    return DebouncedSync(name, enqueued, delay, chosen)
