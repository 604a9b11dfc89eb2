"""Adaptive polling (issue 16): a connection whose runs keep finding nothing backs off (5 -> 10 -> 20 ->
40 -> 60 min with the default bounds); a change on either side, "Sync now" or a settings change brings it
back to the fastest interval; the admin's slowest interval stays a safety poll."""

from __future__ import annotations

import itertools
import random
from datetime import timedelta

import pytest

from bench.polling_day import run_minutes
from crmsync.model.contact import canonical_contact
from crmsync.services import settings
from crmsync.services.admin_config import AdminConfig, parse_admin_config
from crmsync.services.errors import InvalidInput
from crmsync.services.fanout import FanoutSettings, due_task_name, fan_out
from crmsync.services.polling import PollingBounds, poll_interval
from tests.support.admin_rules import store_without_preview
from tests.unit.scheduling.support import World
from tests.unit.services.appfakes import make_app, seed_connection

pytestmark = pytest.mark.unit
JITTER = 0.1


def _set_bounds(world: World, fastest: int, slowest: int) -> None:
    config = AdminConfig(polling=PollingBounds(fastest_minutes=fastest, slowest_minutes=slowest))
    store_without_preview(world.store, config.model_dump(mode="json"))


def _minutes_to_next(world: World, cid: str) -> float:
    conn = world.store.get_connection(cid)
    assert conn is not None and conn.next_sync_at is not None
    return (conn.next_sync_at - world.clock()).total_seconds() / 60


def _near(minutes: float, expected: float) -> bool:
    return expected * (1 - JITTER) - 1e-6 <= minutes <= expected * (1 + JITTER) + 1e-6


def _quiet(world: World, cid: str) -> int:
    conn = world.store.get_connection(cid)
    assert conn is not None
    return conn.quiet_runs


def test_the_interval_doubles_per_quiet_run_within_the_admins_bounds() -> None:
    bounds = PollingBounds()
    assert [poll_interval(5, q, bounds) // timedelta(minutes=1) for q in range(7)] == [5, 10, 20, 40, 60, 60, 60]
    assert poll_interval(1, 0, bounds) == timedelta(minutes=5)  # never faster than the admin's fastest
    assert poll_interval(1440, 0, bounds) == timedelta(minutes=60)  # never slower than the safety poll
    tight = PollingBounds(fastest_minutes=2, slowest_minutes=15)
    assert [poll_interval(1, q, tight) // timedelta(minutes=1) for q in range(5)] == [2, 4, 8, 15, 15]
    assert poll_interval(5, 10**9, bounds) == timedelta(minutes=60)  # no overflow, however long it is quiet


@pytest.mark.parametrize(
    ("polling", "field"),
    [
        ({"fastest_minutes": 0}, "polling.fastest_minutes"),
        ({"slowest_minutes": 1441}, "polling.slowest_minutes"),
        ({"fastest_minutes": 30, "slowest_minutes": 10}, "polling"),
        ({"fastest_minutes": "often"}, "polling.fastest_minutes"),
        ({"every": 5}, "polling.every"),
    ],
)
def test_the_admin_bounds_are_validated(polling: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidInput) as err:
        parse_admin_config({"polling": polling})
    assert field in {p.field for p in err.value.problems}
    assert parse_admin_config({}).polling == PollingBounds(fastest_minutes=5, slowest_minutes=60)


def test_quiet_runs_back_off_to_the_safety_poll(world: World) -> None:
    world.connect("c1", records=0)  # nothing on either side: every run finds nothing
    seen = []
    for i in range(6):
        assert world.deliver("c1", task=f"t-{i}").outcome.value == "synced"
        seen.append(_minutes_to_next(world, "c1"))
    assert [_near(m, e) for m, e in zip(seen, [10, 20, 40, 60, 60, 60], strict=True)] == [True] * 6, seen
    assert _quiet(world, "c1") == 6


@pytest.mark.parametrize("side", ["crm", "google"])
def test_a_change_on_either_side_brings_the_fastest_interval_back(world: World, side: str) -> None:
    world.connect("c1", records=0)
    for i in range(4):
        world.deliver("c1", task=f"t-{i}")
    assert _near(_minutes_to_next(world, "c1"), 60)
    raw = {"given_name": "New", "family_name": "Person", "emails": [{"value": "new@c1.example"}]}
    getattr(world.sides["c1"], side).put(canonical_contact(raw, default_region="DE"))
    world.deliver("c1", task="t-change")
    assert (_quiet(world, "c1"), _near(_minutes_to_next(world, "c1"), 5)) == (0, True)


def test_sync_now_brings_the_fastest_interval_back(world: World) -> None:
    world.connect("c1", records=0)
    for i in range(4):
        world.deliver("c1", task=f"t-{i}")
    world.deliver("c1", reason="sync_now", task="now-1")
    assert (_quiet(world, "c1"), _near(_minutes_to_next(world, "c1"), 5)) == (0, True)


def test_a_failed_run_keeps_the_backoff_where_it_was(world: World) -> None:
    world.connect("c1", records=0)
    for i in range(3):
        world.deliver("c1", task=f"t-{i}")
    world.sides["c1"].crm.fail_calls.append("list")
    assert world.deliver("c1", task="t-fail").outcome.value == "retry"
    assert _quiet(world, "c1") == 3


def test_the_worker_follows_the_admins_bounds(world: World) -> None:
    _set_bounds(world, 2, 15)
    world.connect("c1", records=0, interval=1)
    seen = []
    for i in range(4):
        world.deliver("c1", task=f"t-{i}")
        seen.append(_minutes_to_next(world, "c1"))
    assert [_near(m, e) for m, e in zip(seen, [4, 8, 15, 15], strict=True)] == [True] * 4, seen


def test_a_settings_change_brings_the_fastest_interval_back() -> None:
    app, _, clock = make_app()
    conn = seed_connection(app, "u1", quiet_runs=4)
    app.store.update_connection(conn.id, {"next_sync_at": clock() + timedelta(minutes=55)})
    current = conn.settings.model_dump(mode="json")
    settings.update_settings(app, "u1", current)  # nothing changed: the backoff stays
    assert (app.store.get_connection(conn.id) or conn).quiet_runs == 4
    settings.update_settings(app, "u1", {**current, "interval_minutes": 10})
    after = app.store.get_connection(conn.id)
    assert after is not None and after.next_sync_at is not None
    assert after.quiet_runs == 0
    assert after.next_sync_at == clock() + timedelta(minutes=10)


@pytest.mark.parametrize("sharded", [True, False])
def test_the_fan_out_moves_a_quiet_connection_by_its_backed_off_interval(world: World, sharded: bool) -> None:
    world.connect("c1", records=0)
    world.store.update_connection("c1", {"quiet_runs": 3})
    if sharded:
        while not world.store.backfill_due_shards(world.clock()):
            pass
    result = fan_out(world.store, world.queue, world.clock, FanoutSettings(), random.Random(3))
    assert (result.sharded, result.enqueued) == (sharded, 1)
    assert world.queue.tasks[0].name == due_task_name("c1", world.clock())  # connected due now
    assert _near(_minutes_to_next(world, "c1"), 40)
    _set_bounds(world, 5, 20)  # the admin lowers the safety poll: it applies at the next tick
    world.store.update_connection("c1", {"next_sync_at": world.clock()})
    fan_out(world.store, world.queue, world.clock, FanoutSettings(), random.Random(3))
    assert _near(_minutes_to_next(world, "c1"), 20)


def test_a_quiet_connection_runs_about_25_times_a_day_instead_of_263(world: World) -> None:
    world.connect("quiet", records=0)
    ran = run_minutes(world, "quiet")
    print(f"quiet connection: {len(ran)} runs in 24 h (fixed 5-minute polling, same ticks: 263)")
    assert 20 <= len(ran) <= 30
    gaps = [b - a for a, b in itertools.pairwise(ran)]
    assert gaps[:4] == sorted(gaps[:4])  # backing off: 5 -> 10 -> 20 -> 40 (jittered)


def test_the_safety_poll_never_leaves_more_than_the_slowest_interval_between_runs(world: World) -> None:
    world.connect("quiet", records=0)
    ran = run_minutes(world, "quiet")
    gaps = [b - a for a, b in itertools.pairwise(ran)]
    assert max(gaps) <= 60 * 1.1 + 1  # the slowest interval, its jitter and one tick
