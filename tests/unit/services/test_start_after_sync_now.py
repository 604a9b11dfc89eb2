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


def test_answers_to_a_stop_or_a_conflict_right_after_a_sync_now_queue_runs_of_their_own() -> None:
    # The same slot problem for the user's other answers: "Delete them" / "Keep them" and "use the other
    # value" record the choice for the next run, which must come now, not at the next poll.
    from datetime import timedelta

    from crmsync.services.conflict_choice import choose_other_value
    from crmsync.services.stops import answer_stop
    from crmsync.sync.approvals import StopAnswer

    app, _google, clock = make_app()
    conn = seed_connection(app, "u1")
    conflict = {"crm_id": "c1", "google_id": "g1", "field": "title", "crm": "A", "google": "B", "winner": "crm"}
    doomed = [{"side": "crm", "id": "c9", "name": "Ana"}]
    report = {"complete": False, "stopped": "mass delete", "would_delete": doomed, "would_delete_count": 1}
    summary = {
        "started_at": clock(),
        "kinds": {"contacts": {"conflicts": [conflict], "complete": True}, "tasks": report},
    }
    app.store.append_run(conn.id, "r1", summary, clock() + timedelta(days=30))
    queue = app.queue
    assert isinstance(queue, MemoryTaskQueue)
    assert request_sync(app, "u1").enqueued  # "Sync now", its run already over
    answer_stop(app, "u1", Kind.TASKS, StopAnswer.DELETE)
    choose_other_value(app, "u1", Kind.CONTACTS, "c1", "title")
    assert len({t.name for t in queue.tasks}) == 3, [t.name for t in queue.tasks]
