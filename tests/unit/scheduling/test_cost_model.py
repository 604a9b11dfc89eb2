"""The cost model and the 1,000,000-connection plan (bench.cost_model) respect the documented limits and
add up: checked on fixed inputs shaped like the benchmark's measured counts."""

from __future__ import annotations

from typing import Any

import pytest

from bench import cost_model

pytestmark = pytest.mark.unit
TICK = {
    "connections": 100_000,
    "enqueued_per_s": 2400,
    "firestore_reads_per_connection": 1.0,
    "firestore_writes_per_connection": 1.0,
    "fanout_cpu_us_per_connection": 150.0,
}
ROUNDS: dict[str, Any] = {
    "quiet": {"worker_per_run": {"reads": 7.0, "writes": 2.0}},
    "changed": {"worker_per_run": {"reads": 8.0, "writes": 6.0}},
    "after_change": {"worker_per_run": {"reads": 8.0, "writes": 3.0}},
}
DAY = {"runs": 85, "runs_with_changes": 20, "changes": 20}


def test_the_million_plan_stays_inside_cloud_tasks_and_firestore_limits() -> None:
    plan = cost_model.million_plan(TICK, ROUNDS, DAY)
    worst = plan["worst_case_runs_per_s"]
    assert worst == 3333  # 1,000,000 runs in one 5-minute interval
    tasks = plan["cloud_tasks"]
    assert tasks["total_dispatches_per_second"] >= worst * 1.25
    assert tasks["queue_shards"] <= cost_model.CLOUD_TASKS["queues_per_region"]
    assert tasks["create_requests_per_minute"] < tasks["project_limit_per_minute"]
    assert plan["firestore"]["next_sync_at_writes_per_s_per_shard"] <= cost_model.FIRESTORE_SEQUENTIAL_WRITES_PER_RANGE
    tick = plan["per_tick"]
    assert tick["due_connections"] == 200_000 and tick["fits_in_the_minute"]
    assert plan["usual_runs_per_s"] < worst / 2  # adaptive polling


def test_a_typical_user_is_the_sum_of_its_runs() -> None:
    user = cost_model.typical_user(ROUNDS, TICK, DAY)
    assert user["per_run_mix_per_day"] == {"changed": 20, "after_change": 20, "quiet": 45}
    reads = 30 * (20 * 9 + 20 * 9 + 45 * 8)
    assert user["firestore_per_month"]["reads"] == reads
    assert user["usd_per_user_month"]["secret_manager"] == 0.0
    assert 0 < user["usd_per_user_month_total"] <= 0.05
    bill = cost_model.at_scale(user, 100_000)
    assert bill["usd_per_month"] >= 100_000 * user["usd_per_user_month_total"]
