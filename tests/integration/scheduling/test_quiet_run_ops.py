"""The Firestore operations of a scheduled run that finds nothing, counted on the wire on the emulator
(issue 16, "cheaper runs"): counts, not time. A quiet run reads the connection once (in the lease's
transaction), the admin's settings, the sealed token and each kind's cursor, and writes twice (the
lease, then the report with the lease's release and the rerun flag in one write); it writes no cursor
and, after another quiet run, no run-log entry. Before: 10 reads and 4 writes."""

from __future__ import annotations

import pytest

from bench.quiet_run import measure
from crmsync.store.due import DUE_SHARDS

pytestmark = pytest.mark.integration
CONNECTIONS = 32


@pytest.fixture(scope="module")
def rounds(firestore_emulator_host: str) -> dict[str, dict[str, object]]:
    return measure(firestore_emulator_host, CONNECTIONS)["rounds"]  # type: ignore[no-any-return]


def test_a_quiet_run_after_a_quiet_run_reads_seven_documents_and_writes_two(
    rounds: dict[str, dict[str, object]],
) -> None:
    quiet = rounds["quiet"]
    assert quiet["outcomes"] == ["synced"]
    # reads: connection + admin settings + sealed token + 3 cursors + the report's transaction
    assert quiet["worker_per_run"] == {"reads": 7.0, "writes": 2.0, "commits": 2.0}


def test_the_first_quiet_run_after_a_full_listing_is_still_logged(rounds: dict[str, dict[str, object]]) -> None:
    assert rounds["first_quiet"]["worker_per_run"] == {"reads": 7.0, "writes": 3.0, "commits": 3.0}


def test_the_fan_out_reads_and_writes_each_due_connection_once(rounds: dict[str, dict[str, object]]) -> None:
    for name in ("first_quiet", "quiet", "changed"):
        tick = rounds[name]
        assert tick["enqueued"] == CONNECTIONS
        ops = tick["fanout_per_connection"]
        assert isinstance(ops, dict)
        assert ops["writes"] == 1.0  # next_sync_at, in batched commits
        # one read per due connection (a projected listing), plus at most one per empty shard and the config
        assert ops["reads"] <= 1 + (DUE_SHARDS + 2) / CONNECTIONS
        assert "deletes" not in ops


def test_a_run_that_found_a_change_still_writes_its_cursor_links_and_log(
    rounds: dict[str, dict[str, object]],
) -> None:
    changed = rounds["changed"]["worker_per_run"]
    assert isinstance(changed, dict)
    assert changed["writes"] > 3  # the lease and report, the run log, the new link, the moved cursor
