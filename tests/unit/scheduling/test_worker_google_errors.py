"""The worker under the error replies Google really sends (issue 11 §4): a quota waits until it
resets and never disconnects anyone; an operator error keeps the connection and alerts; a kind
whose setting names something gone stops with a message naming the setting, the others go on.

The replies are real-shaped ``HttpError`` bodies mapped by crmsync's own mapper, raised where a
Google side raises them (its listing)."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import httplib2
import pytest
from googleapiclient.errors import HttpError

from crmsync.errors import SettingTargetGone
from crmsync.google.errors import map_error
from crmsync.model.kinds import Kind
from crmsync.model.state import ConnectionStatus
from crmsync.services.status import summarise_run
from crmsync.services.worker import Outcome
from tests.unit.scheduling.support import NOW, World

pytestmark = pytest.mark.unit


def reply(status: int, reason: str, message: str, domain: str = "usageLimits") -> BaseException:
    body = {
        "error": {
            "errors": [{"domain": domain, "reason": reason, "message": message}],
            "code": status,
            "message": message,
        }
    }
    err = HttpError(
        httplib2.Response({"status": str(status)}), json.dumps(body).encode(), uri="https://www.googleapis.com/x"
    )
    return map_error(err)


def fail_listing(world: World, cid: str, exc: BaseException) -> list[int]:
    """Google's listing raises ``exc`` (each time); the returned list counts the attempts."""
    calls: list[int] = []

    def listing(token: str | None) -> Any:
        calls.append(1)
        raise exc

    world.sides[cid].google.list_changes = listing  # type: ignore[method-assign]
    return calls


def test_calendar_usage_limits_never_mark_the_connection_needs_reauth(world: World) -> None:
    """Before: 403 quotaExceeded was "permission denied" and the connection went to needs_reauth."""
    world.connect("c1")
    calls = fail_listing(world, "c1", reply(403, "quotaExceeded", "Calendar usage limits exceeded."))
    result = world.deliver("c1", task="c1-1")
    assert (result.outcome, result.status_code) == (Outcome.SYNCED, 200)  # no 503 loop either
    conn = world.store.get_connection("c1")
    assert conn is not None
    assert conn.status is ConnectionStatus.ACTIVE
    assert conn.last_run is not None
    entry = conn.last_run["kinds"]["contacts"]
    assert "quota" in entry["waiting"]
    assert datetime.fromisoformat(entry["retry_at"]) == NOW + timedelta(hours=1)
    assert summarise_run(conn.last_run).ok is False
    # The next ticks before the reset make no call at all; after it, the kind syncs again.
    world.clock.advance(minutes=10)
    assert world.deliver("c1", task="c1-2").outcome is Outcome.SYNCED
    assert len(calls) == 1
    world.clock.advance(minutes=55)
    world.sides["c1"].google.list_changes = type(world.sides["c1"].google).list_changes.__get__(
        world.sides["c1"].google
    )  # type: ignore[method-assign]
    assert world.deliver("c1", task="c1-3").outcome is Outcome.SYNCED
    conn = world.store.get_connection("c1")
    assert conn is not None and conn.last_run is not None
    assert conn.last_run["kinds"]["contacts"]["complete"] is True
    assert len(world.sides["c1"].google.records) == 3


def test_the_projects_daily_limit_waits_until_midnight_pacific(world: World) -> None:
    world.connect("c1")
    fail_listing(world, "c1", reply(403, "dailyLimitExceeded", "Daily Limit Exceeded"))
    world.deliver("c1")
    conn = world.store.get_connection("c1")
    assert conn is not None and conn.last_run is not None
    assert conn.status is ConnectionStatus.ACTIVE
    # NOW is 2026-11-20 12:00 UTC = 04:00 PST: the quota resets at 08:00 UTC the next day.
    assert datetime.fromisoformat(conn.last_run["kinds"]["contacts"]["retry_at"]) == datetime(
        2026, 11, 21, 8, tzinfo=UTC
    )


def test_a_quota_met_while_wiring_a_kind_holds_that_kind_until_it_resets(world: World) -> None:
    world.connect("c1")
    quota = reply(403, "dailyLimitExceeded", "Daily Limit Exceeded")

    def factory(*args: Any) -> Any:
        raise quota

    from crmsync.services import run_sync

    run_sync.register_kind(Kind.CONTACTS, factory)
    result = world.deliver("c1")
    assert (result.outcome, result.status_code) == (Outcome.SYNCED, 200)
    conn = world.store.get_connection("c1")
    assert conn is not None and conn.last_run is not None
    assert conn.status is ConnectionStatus.ACTIVE
    assert "retry_kinds" not in conn.last_run  # not retried before the reset
    assert datetime.fromisoformat(conn.last_run["kinds"]["contacts"]["retry_at"]) == datetime(
        2026, 11, 21, 8, tzinfo=UTC
    )


def test_api_not_enabled_alerts_the_operator_and_keeps_the_connection(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    """Before: a 403 accessNotConfigured marked every connection needs_reauth."""
    world.connect("c1")
    fail_listing(
        world,
        "c1",
        reply(403, "accessNotConfigured", "Access Not Configured. People API has not been used in project 1"),
    )
    with caplog.at_level(logging.ERROR):
        result = world.deliver("c1")
    assert result.outcome is Outcome.SYNCED
    conn = world.store.get_connection("c1")
    assert conn is not None and conn.last_run is not None
    assert conn.status is ConnectionStatus.ACTIVE
    assert conn.last_run["kinds"]["contacts"]["alert"] == "google.api_not_enabled"
    alerts = [r for r in caplog.records if getattr(r, "alert", None) == "google.api_not_enabled"]
    assert alerts and alerts[0].levelno == logging.ERROR


def test_a_setting_naming_something_gone_stops_that_kind_with_the_setting_named(world: World) -> None:
    world.connect("c1")
    gone = SettingTargetGone(
        "the Google task list 'L9' chosen in the task settings no longer exists: pick another list",
        setting="task_options.lists",
    )
    fail_listing(world, "c1", gone)
    result = world.deliver("c1")
    assert result.outcome is Outcome.SYNCED
    conn = world.store.get_connection("c1")
    assert conn is not None and conn.last_run is not None
    assert conn.status is ConnectionStatus.ACTIVE
    entry = conn.last_run["kinds"]["contacts"]
    assert entry["setting"] == "task_options.lists"
    assert "no longer exists" in entry["stopped"]
    assert summarise_run(conn.last_run).ok is False


def test_a_listing_refused_for_good_stops_the_kind_instead_of_a_500_loop(world: World) -> None:
    """Before: any 4xx of a listing was an "unexpected error" (500, retried by Cloud Tasks) every run."""
    world.connect("c1")
    fail_listing(world, "c1", reply(400, "invalid", "Invalid Value", domain="global"))
    result = world.deliver("c1")
    assert (result.outcome, result.status_code) == (Outcome.SYNCED, 200)
    conn = world.store.get_connection("c1")
    assert conn is not None and conn.last_run is not None
    assert "Invalid Value" in conn.last_run["kinds"]["contacts"]["stopped"]
