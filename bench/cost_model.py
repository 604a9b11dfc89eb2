"""The cost model and the 1,000,000-connection plan, computed from measured counts (bench.fanout_bench).

Inputs, all measured by the benchmark on the emulators: the Firestore operations of a fan-out tick per
connection (the 100,000-connection tick), of each kind of worker run counted on the wire
(bench.quiet_run: quiet, first quiet after a logged run, a run that found a change, the run after it),
and a connection's runs a day under adaptive polling (bench.polling_day, the real fan-out and worker
over one simulated day of minute ticks). Prices and limits are Google's public list prices and
documented limits (sources and dates below); the worker's time per run is stated, not measured.
"""

from __future__ import annotations

import math
from typing import Any

# Public list prices in USD, read 2026-11-22 from the pages named (Firestore Standard edition rechecked
# 2026-12-02). Tier-1 / US regional prices; check your region.
PRICES: dict[str, dict[str, Any]] = {
    "firestore_read": {
        "usd": 0.03 / 100_000,
        "unit": "document read",
        "source": "https://cloud.google.com/firestore/pricing (Standard edition, regional US e.g. us-central1: "
        "$0.03 per 100,000 reads; multi-region nam5 is $0.06)",
    },
    "firestore_write": {
        "usd": 0.09 / 100_000,
        "unit": "document write",
        "source": "https://cloud.google.com/firestore/pricing (regional US: $0.09 per 100,000 writes; nam5 $0.18)",
    },
    "firestore_delete": {
        "usd": 0.01 / 100_000,
        "unit": "document delete (run-log TTL expiry)",
        "source": "https://cloud.google.com/firestore/pricing (regional US: $0.01 per 100,000 deletes; nam5 $0.02)",
    },
    "cloud_tasks_operation": {
        "usd": 0.40 / 1_000_000,
        "unit": "billable operation (create = 1, each push delivery attempt = 1); first 1M/month free",
        "source": "https://cloud.google.com/tasks/pricing ($0.40 per million beyond the first million)",
    },
    "secret_access": {
        "usd": 0.03 / 10_000,
        "unit": "access operation",
        "source": "https://cloud.google.com/secret-manager/pricing ($0.03 per 10,000 access operations)",
    },
    "secret_version_month": {
        "usd": 0.06,
        "unit": "active secret version per location per month",
        "source": "https://cloud.google.com/secret-manager/pricing ($0.06 per active version per location)",
    },
    "run_vcpu_second": {
        "usd": 0.000024,
        "unit": "vCPU-second (request-based billing, Tier 1)",
        "source": "https://cloud.google.com/run/pricing (Cloud Run functions bill as Cloud Run services)",
    },
    "run_gib_second": {
        "usd": 0.0000025,
        "unit": "GiB-second (request-based billing, Tier 1)",
        "source": "https://cloud.google.com/run/pricing",
    },
    "run_request": {
        "usd": 0.40 / 1_000_000,
        "unit": "request; first 2M/month free",
        "source": "https://cloud.google.com/run/pricing ($0.40 per million requests)",
    },
}
# Not measured here, so stated: wall time of one quiet worker run in production (1 People + 1 CRM
# request per kind plus ~10 Firestore round trips), and the worker's size (terraform functions.worker).
ASSUMED_QUIET_RUN_SECONDS = 0.6
WORKER_VCPU, WORKER_GIB, WORKER_CONCURRENCY = 1.0, 0.5, 8


DAYS_PER_MONTH = 30
INTERVAL_S = 300  # the fastest polling interval: every connection may be due once in it
TICKS_PER_INTERVAL = 5  # Cloud Scheduler runs the fan-out every minute
MILLION = 1_000_000
# Cloud Tasks limits (https://cloud.google.com/tasks/docs/quotas and the RateLimits reference of the
# Cloud Tasks v2 API, read 2026-12-02): a queue dispatches at most 500 tasks/s and 5,000 at once; a
# project may make 6,000,000 API requests a minute and keep 1,000 queues a region; a task name cannot
# be reused for about an hour after its task ran (the fan-out names each task by its due time).
CLOUD_TASKS: dict[str, Any] = {
    "max_dispatches_per_second_per_queue": 500,
    "max_concurrent_dispatches_per_queue": 5000,
    "api_requests_per_minute_per_project": 6_000_000,
    "queues_per_region": 1000,
    "source": "https://cloud.google.com/tasks/docs/quotas; RateLimits (Cloud Tasks v2 API reference), read 2026-12-02",
}
# Firestore: keep writes to one range of a sequentially indexed field under ~500/s
# (https://cloud.google.com/firestore/docs/best-practices, "hotspots"); next_sync_at is indexed behind
# (status, due_shard), so each of the 16 shards is its own range.
FIRESTORE_SEQUENTIAL_WRITES_PER_RANGE = 500
ENQUEUE_RPC_S = 0.02  # one CreateTask round trip from the fan-out's region (stated: not measurable here)
HEADROOM = 1.25


def _p() -> dict[str, float]:
    return {k: float(v["usd"]) for k, v in PRICES.items()}


def per_run_ops(rounds: dict[str, Any], tick: dict[str, Any], kind: str) -> dict[str, float]:
    """Firestore reads/writes of one run of ``kind`` (a bench.quiet_run round) plus its fan-out share."""
    worker = rounds[kind]["worker_per_run"]
    return {
        "reads": tick["firestore_reads_per_connection"] + worker.get("reads", 0.0),
        "writes": tick["firestore_writes_per_connection"] + worker.get("writes", 0.0),
    }


def typical_user(rounds: dict[str, Any], tick: dict[str, Any], day: dict[str, int]) -> dict[str, Any]:
    """USD per connected user-month for a user whose day is ``day`` (bench.polling_day.day_profile)."""
    p = _p()
    runs, changed = day["runs"], day["runs_with_changes"]
    mix = {"changed": changed, "after_change": changed, "quiet": max(runs - 2 * changed, 0)}
    ops = {k: per_run_ops(rounds, tick, k) for k in mix}
    reads = sum(n * ops[k]["reads"] for k, n in mix.items()) * DAYS_PER_MONTH
    writes = sum(n * ops[k]["writes"] for k, n in mix.items()) * DAYS_PER_MONTH
    logged = 2 * changed * DAYS_PER_MONTH  # run-log entries (each deleted by TTL after 30 days)
    month_runs = runs * DAYS_PER_MONTH
    vcpu_s = month_runs * (ASSUMED_QUIET_RUN_SECONDS * WORKER_VCPU / WORKER_CONCURRENCY + 1 / tick["enqueued_per_s"])
    gib_s = month_runs * ASSUMED_QUIET_RUN_SECONDS * WORKER_GIB / WORKER_CONCURRENCY
    usd = {
        "firestore": reads * p["firestore_read"] + writes * p["firestore_write"] + logged * p["firestore_delete"],
        "cloud_tasks": month_runs * 2 * p["cloud_tasks_operation"],
        "secret_manager": 0.0,  # envelope vault: the data key is cached per instance (a per-deployment line)
        "functions": month_runs * p["run_request"] + vcpu_s * p["run_vcpu_second"] + gib_s * p["run_gib_second"],
    }
    return {
        "day": day,
        "runs_per_month": month_runs,
        "per_run_mix_per_day": mix,
        "firestore_per_month": {"reads": round(reads), "writes": round(writes), "deletes": logged},
        "usd_per_user_month": {k: round(v, 4) for k, v in usd.items()},
        "usd_per_user_month_total": round(sum(usd.values()), 4),
    }


def per_deployment(users: int, runs_per_user_day: float) -> dict[str, float]:
    """USD a month that do not scale per user: the scheduler job, the data key (two active versions) and
    its reads by warm worker instances (the current key every 5 minutes, each older version hourly)."""
    p = _p()
    instances = max(1.0, users * runs_per_user_day / 86_400 * ASSUMED_QUIET_RUN_SECONDS / WORKER_CONCURRENCY)
    key_reads = instances * (12 + 1) * 24 * DAYS_PER_MONTH
    return {
        "scheduler_job": 0.10,
        "data_key_versions": round(2 * p["secret_version_month"], 2),
        "data_key_reads": round(key_reads * p["secret_access"], 2),
        "fanout_requests": round(DAYS_PER_MONTH * 24 * 60 * p["run_request"], 2),
    }


def at_scale(user: dict[str, Any], users: int) -> dict[str, Any]:
    """The month's bill for ``users`` such users, before free tiers."""
    fixed = per_deployment(users, user["day"]["runs"])
    total = users * user["usd_per_user_month_total"] + sum(fixed.values())
    return {"users": users, "per_deployment_usd": fixed, "usd_per_month": round(total, 2)}


def million_plan(tick: dict[str, Any], rounds: dict[str, Any], typical_day: dict[str, int]) -> dict[str, Any]:
    """How one deployment serves 1,000,000 connections within one 5-minute interval.

    The worst case is every connection at its fastest interval (after a settings change for all, or a
    busy day): 1,000,000 runs in 300 s. Adaptive polling makes the usual load a fraction of that."""
    worst_rate = MILLION / INTERVAL_S
    usual_rate = MILLION * typical_day["runs"] / 86_400
    per_tick = MILLION / TICKS_PER_INTERVAL  # due times are spread by jitter over the interval's ticks
    queues = math.ceil(worst_rate * HEADROOM / CLOUD_TASKS["max_dispatches_per_second_per_queue"])
    concurrency = math.ceil(worst_rate * HEADROOM * ENQUEUE_RPC_S)  # enqueue RPCs in flight at once
    # One fan-out instance is bound by its own CPU (one core: the GIL) or by its enqueue RPCs in flight;
    # the emulator's wall-clock rate is a floor (there the emulator scans its whole collection per query
    # and shares the 2 cores with the client).
    cpu_rate = 1e6 / tick["fanout_cpu_us_per_connection"]
    enqueue_rate = min(cpu_rate, concurrency / ENQUEUE_RPC_S)
    quiet = per_run_ops(rounds, tick, "quiet")
    worker_concurrent = worst_rate * ASSUMED_QUIET_RUN_SECONDS
    shards = 16
    return {
        "connections": MILLION,
        "interval_s": INTERVAL_S,
        "worst_case_runs_per_s": round(worst_rate),
        "usual_runs_per_s": round(usual_rate),
        "usual_is": f"every connection a typical user ({typical_day['changes']} changes a day: "
        f"{typical_day['runs']} runs a day)",
        "per_tick": {
            "due_connections": round(per_tick),
            "measured_fanout_cpu_us_per_connection": tick["fanout_cpu_us_per_connection"],
            "cpu_bound_rate_per_s": round(cpu_rate),
            "enqueue_bound_rate_per_s": round(concurrency / ENQUEUE_RPC_S),
            "emulator_wall_rate_per_s": tick["enqueued_per_s"],
            "measured_at": f"{tick['connections']:,} connections on the Firestore emulator (2 cores shared)",
            "tick_seconds": round(per_tick / enqueue_rate, 1),
            "fits_in_the_minute": per_tick / enqueue_rate <= 60,
            "settings": {
                "CRMSYNC_FANOUT_CONCURRENCY": concurrency,
                "CRMSYNC_FANOUT_PARTITIONS": shards,
                "CRMSYNC_FANOUT_PAGE_SIZE": 500,
                "CRMSYNC_FANOUT_MAX_SECONDS": 90,
            },
        },
        "cloud_tasks": {
            "queue_shards": queues,
            "total_dispatches_per_second": queues * CLOUD_TASKS["max_dispatches_per_second_per_queue"],
            "create_requests_per_minute": round(worst_rate * 60),
            "project_limit_per_minute": CLOUD_TASKS["api_requests_per_minute_per_project"],
            "limits": CLOUD_TASKS,
        },
        "firestore": {
            "reads_per_s": round(worst_rate * quiet["reads"]),
            "writes_per_s": round(worst_rate * quiet["writes"]),
            "next_sync_at_writes_per_s_per_shard": round(worst_rate * 2 / shards),
            "per_range_guideline": FIRESTORE_SEQUENTIAL_WRITES_PER_RANGE,
        },
        "worker": {
            "runs_in_flight": round(worker_concurrent),
            "instances_at_concurrency": {
                "8": math.ceil(worker_concurrent / 8),
                "40": math.ceil(worker_concurrent / 40),
            },
            "seconds_per_run": ASSUMED_QUIET_RUN_SECONDS,
        },
        "google_api_quotas": "per project, not per user: at this scale the People/Calendar/Tasks per-minute "
        "quotas must be raised (docs/deploy.md section 7); each quiet run makes one listing call per kind",
    }
