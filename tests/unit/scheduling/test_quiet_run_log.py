"""Which runs the run log keeps (issue 16, cheaper runs): a quiet run after a quiet run is not logged,
its report is the connection's last_run, and the pages still see the latest run first."""

from __future__ import annotations

from datetime import timedelta

import pytest

from crmsync.model.contact import canonical_contact
from crmsync.services.run_log import latest_runs, unremarkable, worth_logging
from crmsync.services.worker import Outcome
from tests.unit.scheduling.support import World

pytestmark = pytest.mark.unit


def _run(world: World, n: int) -> str:
    world.clock.advance(minutes=61)
    result = world.deliver("c1", task=f"c1-{n}")
    assert result.outcome is Outcome.SYNCED
    assert result.run_id is not None
    return result.run_id


def _runs(world: World, first: int, count: int) -> list[dict[str, object]]:
    """Run ``count`` times; each run's report as the connection's last_run holds it."""
    reports = []
    for n in range(first, first + count):
        _run(world, n)
        conn = world.store.get_connection("c1")
        assert conn is not None and conn.last_run is not None
        reports.append(conn.last_run)
    return reports


def test_quiet_runs_after_a_quiet_run_are_not_logged_and_any_change_is(world: World) -> None:
    world.connect("c1", records=2)
    reports = _runs(world, 1, 5)  # the first sync (a full listing), its echo, then nothing
    raw = {"given_name": "New", "family_name": "c1", "emails": [{"value": "new@c1.example"}]}
    world.sides["c1"].crm.put(canonical_contact(raw, default_region="DE"))
    reports += _runs(world, 6, 4)
    expected = [
        r["run_id"] for i, r in enumerate(reports) if not (unremarkable(r) and i and unremarkable(reports[i - 1]))
    ]
    logged = [r["run_id"] for r in world.store.recent_runs("c1")]
    assert logged == expected[::-1]
    assert len(reports) - len(logged) >= 3  # the quiet runs after quiet runs
    changed = reports[5]
    assert not unremarkable(changed) and changed["run_id"] in logged  # the run that found the new contact
    assert reports[6]["run_id"] in logged  # the first quiet run after it
    assert reports[0]["run_id"] == logged[-1]  # the first sync


def test_the_status_page_shows_the_latest_run_even_when_it_was_not_logged(world: World) -> None:
    world.connect("c1", records=1)
    for n in range(1, 5):
        _run(world, n)
    conn = world.store.get_connection("c1")
    assert conn is not None and conn.last_run is not None
    runs = latest_runs(world.store, conn, 5)
    assert runs[0]["run_id"] == conn.last_run["run_id"]
    assert runs[0]["finished_at"] == conn.last_run["finished_at"]
    assert len(runs) == len(world.store.recent_runs("c1")) + 1  # the last run, then the logged ones


def test_a_running_run_journalled_after_the_last_report_stays_first(world: World) -> None:
    world.connect("c1", records=1)
    for n in range(1, 4):
        _run(world, n)
    conn = world.store.get_connection("c1")
    assert conn is not None and conn.last_run is not None
    later = world.clock() + timedelta(minutes=1)
    world.store.append_run("c1", "journal", {"run_id": "journal", "started_at": later}, later + timedelta(days=1))
    assert next(r["run_id"] for r in latest_runs(world.store, conn, 5)) == "journal"


@pytest.mark.parametrize(
    ("report", "quiet"),
    [
        ({"listed": {"crm": 0, "google": 0}, "writes": {}, "complete": True}, True),
        ({"listed": {"crm": 1, "google": 0}, "writes": {}, "complete": True}, False),
        ({"listed": {}, "writes": {"google.create": 1}, "complete": True}, False),
        ({"listed": {}, "writes": {}, "complete": True, "full": True}, False),
        ({"listed": {}, "writes": {}, "complete": True, "notes": ["excluded"]}, False),
        ({"listed": {}, "writes": {}, "complete": True, "errors": ["failed"]}, False),
        ({"listed": {}, "writes": {}, "complete": True, "conflicts": [{"id": "x"}]}, False),
        ({"listed": {}, "writes": {}, "complete": True, "approved_deletes": 2}, False),
        ({"stopped": "too many deletes", "complete": False}, False),
        ({"waiting": "quota", "complete": False}, False),
        ({"listed": {}, "writes": {}, "complete": False}, False),
        ({"listed": {}, "writes": {}, "complete": True, "restored": {"google": 1}}, False),
        ({"listed": {}, "writes": {}, "complete": True, "a_field_added_later": [1]}, False),
        ({"kind": "events", "listed": {}, "writes": {}, "complete": True, "time_zone": "Europe/Berlin"}, True),
    ],
)
def test_only_a_complete_incremental_run_that_found_and_reported_nothing_is_unremarkable(
    report: dict[str, object], quiet: bool
) -> None:
    record = {"outcome": "synced", "complete": True, "error": None, "kinds": {"contacts": report}}
    assert unremarkable(record) is quiet
    assert worth_logging(record, record) is not quiet
    assert worth_logging(record, None) is True  # the first quiet run after anything else is logged
    assert unremarkable({**record, "outcome": "continued"}) is False
