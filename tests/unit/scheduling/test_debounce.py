"""Issue 16: a burst of change notifications for one connection becomes one run a few seconds later
(a named, delayed task per connection and window), a push run syncs only the kinds it names and does
not put off the poll of the others, and a push that finds a run going asks it to go again."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from crmsync.model.kinds import Kind
from crmsync.queue.local import LocalTaskQueue
from crmsync.services import debounce, run_sync
from crmsync.services.sync_task import InvalidTask, SyncTask
from crmsync.services.worker import Outcome, handle_task
from tests.unit.scheduling.support import NOW, World
from tests.unit.scheduling.test_kinds_apart import ThreeKinds

pytestmark = pytest.mark.unit


@pytest.fixture
def kinds(world: World) -> Iterator[ThreeKinds]:
    three = ThreeKinds(world)
    saved = dict(run_sync.KIND_FACTORIES)
    for kind in Kind:
        run_sync.register_kind(kind, three.factory(kind))
    try:
        three.connect()
        yield three
    finally:
        run_sync.KIND_FACTORIES.clear()
        run_sync.KIND_FACTORIES.update(saved)


def test_a_burst_of_notifications_in_one_window_is_one_delayed_task(world: World) -> None:
    start = NOW + timedelta(seconds=0.5)
    results = [
        debounce.request_sync(world.queue, "c1", [Kind.EVENTS], start + timedelta(seconds=0.2 * i)) for i in range(20)
    ]
    assert [r.enqueued for r in results] == [True] + [False] * 19
    assert len({r.task_name for r in results}) == 1
    [task] = world.queue.tasks
    assert task.payload == {"connection_id": "c1", "reason": "push", "task": task.name, "kinds": ["events"]}
    # Delayed to the end of the 5-second window the first notification fell in.
    assert task.delay_seconds == pytest.approx(4.5)
    assert SyncTask.parse(task.payload).kinds == (Kind.EVENTS,)
    # The next window is the next run; another connection or another kind is its own task.
    assert debounce.request_sync(world.queue, "c1", [Kind.EVENTS], start + timedelta(seconds=5)).enqueued
    assert debounce.request_sync(world.queue, "c2", [Kind.EVENTS], start).enqueued
    assert debounce.request_sync(world.queue, "c1", [Kind.CONTACTS, Kind.EVENTS], start).enqueued
    assert len(world.queue.tasks) == 4


def test_request_sync_refuses_bad_input(world: World) -> None:
    with pytest.raises(ValueError, match="connection_id"):
        debounce.request_sync(world.queue, "bad id/../", [Kind.EVENTS], NOW)
    with pytest.raises(ValueError, match="at least one kind"):
        debounce.request_sync(world.queue, "c1", [], NOW)
    with pytest.raises(ValueError, match="window_seconds"):
        debounce.request_sync(world.queue, "c1", [Kind.EVENTS], NOW, window_seconds=0)
    assert world.queue.tasks == []


@pytest.mark.parametrize(
    "kinds", [[], ["events", "events"], ["calendar"], "events", [1], ["contacts", "events", "tasks", "x"]]
)
def test_a_task_with_bad_kinds_is_invalid(kinds: Any) -> None:
    with pytest.raises(InvalidTask, match="kinds"):
        SyncTask.parse({"connection_id": "c1", "reason": "push", "kinds": kinds})


def test_regression_a_push_run_syncs_only_its_kinds_and_keeps_the_poll_of_the_others(
    world: World, kinds: ThreeKinds
) -> None:
    assert world.deliver("c1", task="c1-1").outcome is Outcome.SYNCED  # the first full run
    conn = world.store.get_connection("c1")
    assert conn is not None and conn.next_sync_at is not None
    due = conn.next_sync_at
    before = dict(kinds.syncs)
    world.clock.advance(minutes=1)
    push = debounce.request_sync(world.queue, "c1", [Kind.EVENTS], world.clock())
    result = world.deliver("c1", reason="push", task=push.task_name, kinds=["events"])
    assert result.outcome is Outcome.SYNCED
    assert kinds.syncs[Kind.EVENTS] == before[Kind.EVENTS] + 1
    assert kinds.syncs[Kind.CONTACTS] == before[Kind.CONTACTS] and kinds.syncs[Kind.TASKS] == before[Kind.TASKS]
    after = world.store.get_connection("c1")
    assert after is not None and after.next_sync_at is not None
    assert after.next_sync_at <= due  # the contacts and tasks poll is not put off by the push run
    assert after.quiet_runs == 0
    assert after.last_run is not None and after.last_run["reason"] == "push"


def test_a_push_for_a_kind_that_is_off_runs_nothing(world: World, kinds: ThreeKinds) -> None:
    conn = world.store.get_connection("c1")
    assert conn is not None
    off = conn.settings.model_copy(update={"events": conn.settings.events.model_copy(update={"enabled": False})})
    world.store.update_connection("c1", {"settings": off})
    result = world.deliver("c1", reason="push", task="c1-push-events-1", kinds=["events"])
    assert result.outcome is Outcome.SKIPPED and "kinds" in result.detail
    assert sum(kinds.syncs.values()) == 0


def test_a_push_while_a_run_holds_the_lease_asks_that_run_to_go_again(world: World, kinds: ThreeKinds) -> None:
    assert world.store.acquire_lease("c1", "someone-else", timedelta(minutes=5), world.clock())
    result = world.deliver("c1", reason="push", task="c1-push-events-9", kinds=["events"])
    assert result.outcome is Outcome.BUSY
    assert world.store.take_rerun("c1")  # the running sync goes again right after: the change is not lost


def test_the_local_queue_runs_a_burst_once_after_the_window() -> None:
    """The local stack's queue: delayed, deduplicated by name, as Cloud Tasks is."""
    delivered: list[dict[str, Any]] = []
    done = threading.Event()

    def deliver(payload: dict[str, Any]) -> int:
        delivered.append(payload)
        done.set()
        return 200

    queue = LocalTaskQueue(deliver, workers=2)
    try:
        now = NOW
        window = 0.5
        first = debounce.request_sync(queue, "c1", [Kind.EVENTS], now, window_seconds=window)
        for i in range(1, 10):
            debounce.request_sync(queue, "c1", [Kind.EVENTS], now + timedelta(seconds=0.01 * i), window_seconds=window)
        assert delivered == []  # nothing runs before the window ends
        assert done.wait(5)
        assert queue.wait_idle(5)
        assert [p["task"] for p in delivered] == [first.task_name]
        # A notification after the run, in the same window, is the same name: Cloud Tasks refuses it too.
        assert not debounce.request_sync(queue, "c1", [Kind.EVENTS], now, window_seconds=window).enqueued
    finally:
        queue.stop()


def test_a_push_for_events_switched_off_forgets_the_channels(world: World, kinds: ThreeKinds) -> None:
    from crmsync.model.watch import WatchChannel, token_hash

    channel = WatchChannel(
        id="wc1",
        connection_id="c1",
        calendar_id="primary",
        resource_id="r1",
        token_sha256=token_hash("t"),
        expires_at=NOW + timedelta(days=7),
        created_at=NOW,
    )
    world.store.put_watch_channel(channel)
    conn = world.store.get_connection("c1")
    assert conn is not None
    off = conn.settings.model_copy(update={"events": conn.settings.events.model_copy(update={"enabled": False})})
    world.store.update_connection("c1", {"settings": off})
    result = world.deliver("c1", reason="push", task="c1-push-events-2", kinds=["events"])
    assert result.outcome is Outcome.SKIPPED
    # Google is unreachable here, so the channel could not be stopped there: it is forgotten, so its
    # next notification is refused, and it expires at Google on its own.
    assert world.store.watch_channels("c1") == []


def test_a_poll_that_finds_google_changes_push_did_not_announce_flags_the_channel(
    world: World, kinds: ThreeKinds
) -> None:
    from crmsync.model.watch import WatchChannel, token_hash
    from crmsync.services.watch_channels import PushTarget

    channel = WatchChannel(
        id="wc1",
        connection_id="c1",
        calendar_id="primary",
        resource_id="r1",
        token_sha256=token_hash("t"),
        expires_at=NOW + timedelta(days=7),
        created_at=NOW - timedelta(hours=1),
    )
    world.store.put_watch_channel(channel)
    deps = world.deps()
    deps.run.push = PushTarget("https://sync.example.com/push/calendar")
    assert handle_task(SyncTask("c1", "tick", "c1-1"), deps).outcome is Outcome.SYNCED
    assert not world.store.get_watch_channel("wc1").suspect  # the first run has nothing to compare with
    _crm, google = kinds.sides[Kind.EVENTS]
    [gid] = list(google.records)
    google.edit(gid, title="edited in Google, no notification came")
    world.clock.advance(minutes=10)
    assert handle_task(SyncTask("c1", "tick", "c1-2"), deps).outcome is Outcome.SYNCED
    assert world.store.get_watch_channel("wc1").suspect  # the next events run replaces it
