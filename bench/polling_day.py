"""One simulated day of adaptive polling: the real fan-out and worker on the scheduling test world
(tests/unit/scheduling/support.py), a tick every minute, each queued task run at once. How many runs a
connection makes a day, quiet or with changes, feeds the cost model (bench.fanout_bench) and the
adaptive-polling tests."""

from __future__ import annotations

import random

from crmsync.model.contact import canonical_contact
from crmsync.queue.memory import MemoryTaskQueue
from crmsync.services.fanout import FanoutSettings, fan_out
from crmsync.services.sync_task import SyncTask
from crmsync.services.worker import handle_task
from tests.unit.scheduling.support import World


def run_minutes(world: World, cid: str, *, changes_at: frozenset[int] = frozenset(), seed: int = 7) -> list[int]:
    """Drive one day of minute ticks (fan-out, then every queued task through the worker) and return the
    minutes at which the connection ran; a CRM edit is made at each minute in ``changes_at``."""
    rng = random.Random(seed)
    deps = world.deps()
    deps.rng = random.Random(seed + 1)
    ran = []
    for minute in range(24 * 60):
        if minute in changes_at:
            crm = world.sides[cid].crm
            raw = {"given_name": f"M{minute}", "family_name": cid, "emails": [{"value": f"m{minute}@x.example"}]}
            crm.put(canonical_contact(raw, default_region="DE"))
        fan_out(world.store, world.queue, world.clock, FanoutSettings(concurrency=1, partitions=1), rng)
        assert isinstance(world.queue, MemoryTaskQueue)
        while world.queue.tasks:
            task = world.queue.tasks.pop(0)
            if handle_task(SyncTask.parse(task.payload), deps).outcome.value == "synced":
                ran.append(minute)
        world.clock.advance(minutes=1)
    return ran


def runs_per_day(world: World, cid: str, *, changes_at: frozenset[int] = frozenset()) -> int:
    """How many times the connection ran in one simulated day (see run_minutes)."""
    return len(run_minutes(world, cid, changes_at=changes_at))


def day_profile(changes_per_day: int, seed: int = 7, spread_hours: int = 10) -> dict[str, int]:
    """A connection's day: ``changes_per_day`` CRM edits spread evenly over ``spread_hours`` from 08:00,
    returning its runs and how many of them found a change (the first run after each edit)."""
    from tests.unit.scheduling.support import registered

    start, span = 8 * 60, spread_hours * 60
    changes = frozenset(start + i * span // max(changes_per_day, 1) for i in range(changes_per_day))
    for world in registered(World()):
        world.connect("user", records=0)
        ran = run_minutes(world, "user", changes_at=changes, seed=seed)
        with_changes = sum(1 for a, b in zip([-1, *ran], ran, strict=False) if any(a < m <= b for m in changes))
        return {"runs": len(ran), "runs_with_changes": with_changes, "changes": changes_per_day}
    raise AssertionError("registered() yields the world once")
