"""RunCursors: one read per cursor and run, and what a run saves is what it reads back."""

from __future__ import annotations

import pytest

from crmsync.model.cursor import GooglePlace
from crmsync.model.kinds import Kind
from crmsync.ports import OpCounter
from crmsync.services.run_cursors import RunCursors
from crmsync.store.contract import READS
from crmsync.store.memory import MemoryStore

pytestmark = pytest.mark.unit


def test_each_cursor_is_read_once_and_saves_are_seen_by_later_reads() -> None:
    counter = OpCounter()
    inner = MemoryStore(counter).connection_store("conn1")
    run = RunCursors(inner)
    first = run.cursor(Kind.EVENTS)
    reads = counter.counts.get(READS, 0)
    assert reads >= 1
    first.google_token = "tok-2"  # a caller's copy: unsaved changes are not seen
    assert run.cursor(Kind.EVENTS).google_token is None
    first.place = GooglePlace(calendar="crm-cal")
    run.save_cursor(first)
    again = run.cursor(Kind.EVENTS)
    assert (again.google_token, again.place.calendar) == ("tok-2", "crm-cal")
    assert counter.counts.get(READS, 0) == reads  # no further reads
    assert inner.cursor(Kind.EVENTS).google_token == "tok-2"  # and saved for the next run
    run.cursor(Kind.TASKS)
    assert counter.counts.get(READS, 0) > reads  # another kind: its own read
