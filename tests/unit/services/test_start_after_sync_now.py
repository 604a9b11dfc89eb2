""" "Start syncing <kind>" pressed in the same 10-second slot as a "Sync now" whose run (the preview)
already ended: the start must still queue a run, or nothing syncs until the next poll."""

from __future__ import annotations

import pytest

from crmsync.model.kinds import Kind
from crmsync.queue.memory import MemoryTaskQueue
from crmsync.services.start_kind import start_syncing
from crmsync.services.sync_now import request_sync
from tests.unit.services.appfakes import make_app, seed_connection

pytestmark = pytest.mark.unit


def test_start_syncing_right_after_a_finished_sync_now_queues_a_run_of_its_own() -> None:
    app, _google, _clock = make_app()
    seed_connection(app, "u1")
    queue = app.queue
    assert isinstance(queue, MemoryTaskQueue)
    assert request_sync(app, "u1").enqueued  # "Sync now": its run shows the preview and ends (no lease held)
    start_syncing(app, "u1", Kind.CONTACTS)  # same slot: the clock has not moved
    start_syncing(app, "u1", Kind.EVENTS)
    start_syncing(app, "u1", Kind.EVENTS)  # a double click is still one task
    assert len(queue.tasks) == 3, [t.name for t in queue.tasks]
    assert len({t.name for t in queue.tasks}) == 3
