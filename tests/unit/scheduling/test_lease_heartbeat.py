"""A run keeps its lease by renewing a short one while it lives (a heartbeat), so a killed instance's
connection is free again within one short lease — not the whole run budget plus a margin (9 minutes with
the defaults, during which every delivery for that connection was skipped as busy: 39 in a row in a soak)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import timedelta

import pytest

from crmsync.services.worker import Outcome, WorkerSettings
from tests.unit.scheduling.support import World, registered

pytestmark = pytest.mark.unit


class Killed(BaseException):
    """The instance died mid-run (nothing after this point runs, like SIGKILL)."""


def _die_in_sync(world: World, cid: str) -> None:
    def die() -> None:
        raise Killed

    world.sides[cid].hook = die


def test_a_killed_workers_connection_is_free_again_within_two_minutes(world: World) -> None:
    world.connect("c1")
    _die_in_sync(world, "c1")
    with pytest.raises(Killed):
        world.deliver("c1", task="c1-1")
    world.sides["c1"].hook = None
    assert world.deliver("c1", task="c1-1").outcome is Outcome.BUSY  # redelivered at once: the lease still holds
    world.clock.advance(seconds=121)
    assert world.deliver("c1", task="c1-1").outcome is Outcome.SYNCED


@pytest.fixture
def beating() -> Iterator[World]:
    """A world whose runs hold a 30-second lease renewed every 20 ms (of real time)."""
    yield from registered(World(settings=WorkerSettings(budget_seconds=60, lease_seconds=30, heartbeat_seconds=0.02)))


def test_a_live_run_keeps_its_lease_past_its_length_and_frees_it_when_done(beating: World) -> None:
    world = beating
    world.connect("c1")
    release = threading.Event()
    world.sides["c1"].hook = lambda: release.wait(10)
    done: dict[str, Outcome] = {}
    first = threading.Thread(target=lambda: done.update(a=world.deliver("c1", task="c1-1").outcome))
    first.start()
    while world.sides["c1"].syncs == 0:
        time.sleep(0.005)
    for _ in range(3):  # the run outlives its lease three times over; the heartbeat renews it each time
        world.clock.advance(seconds=31)
        time.sleep(0.2)
        assert world.deliver("c1", task="c1-2").outcome is Outcome.BUSY
    release.set()
    first.join(10)
    assert done == {"a": Outcome.SYNCED}
    conn = world.store.get_connection("c1")
    assert conn is not None and conn.lease is None  # released with the report, and not renewed after it
    time.sleep(0.1)
    assert world.store.get_connection("c1").lease is None  # type: ignore[union-attr]
    assert world.sides["c1"].syncs == 1


def test_the_lease_is_short_and_renewed_well_within_its_length() -> None:
    settings = WorkerSettings()
    assert settings.lease_ttl <= timedelta(minutes=2)
    assert settings.heartbeat_seconds * 3 <= settings.lease_ttl.total_seconds()
    with pytest.raises(ValueError, match="heartbeat"):
        WorkerSettings(lease_seconds=30, heartbeat_seconds=20)
