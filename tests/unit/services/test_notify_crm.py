"""Telling the CRM when a connection needs its user (issue 15): once per new reason, recorded before the
call so a retry is the same notification, forgotten when the reason clears, a settings link minted by
the settings-link rules, nothing for a CRM that does not take notifications, and the same facts in
GET /status. The reference CRM over HTTP (a lost reply) is tests/integration/crm/test_notifications.py."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from werkzeug.test import Client

from crmsync.bootstrap import App
from crmsync.crm.models import Capabilities
from crmsync.model.kinds import Kind
from crmsync.model.state import ConnectionStatus
from crmsync.security.links import InMemoryNonceStore, verify_settings_token
from crmsync.services.notify_crm import after_run, notify_crm
from crmsync.services.scopes import connection_id_for
from crmsync.web.app import WebApp
from tests.unit.services.appfakes import CRM_KEY, LINK_KEY, Clock, make_app, seed_connection

pytestmark = pytest.mark.unit
CID = connection_id_for("u1")


def report(**fields: Any) -> dict[str, Any]:
    return {"writes": {}, "notes": [], "errors": [], "conflicts": [], "complete": True, **fields}


def log_run(app: App, n: int, **kinds: dict[str, Any]) -> dict[str, Any]:
    reports = {k.value: {"kind": k.value, **kinds.get(k.value, report())} for k in Kind}
    now = app.clock()
    run = {"run_id": f"r{n}", "started_at": now, "finished_at": now, "reason": "tick", "kinds": reports}
    app.store.append_run(CID, f"r{n}", run, now + timedelta(days=30))
    return run


STOP = report(stopped="stopped before deleting 15 contacts", complete=False, would_delete=[{"name": "A"}] * 15)


def world() -> tuple[App, Clock]:
    app, _google, clock = make_app()
    seed_connection(app, "u1")
    log_run(app, 0)
    return app, clock


def sent(app: App) -> list[Any]:
    return list(app.crm.notifications.values())  # type: ignore[attr-defined]


def test_a_safety_stop_is_told_to_the_crm_once_with_a_settings_link() -> None:
    app, clock = world()
    run = log_run(app, 1, contacts=STOP)
    connection = app.store.get_connection(CID)
    assert connection is not None
    delivered = after_run(app, connection, run)
    [notification] = sent(app)
    assert delivered == [notification.id]
    assert (notification.user_id, notification.reason.value, notification.kind) == ("u1", "safety_stop", "contacts")
    assert "stopped before deleting 15 records" in notification.message
    assert notification.settings_url == "http://localhost:8080/settings"
    token = parse_qs(urlsplit(notification.settings_link).query)["t"][0]
    claims = verify_settings_token(token, LINK_KEY, clock(), InMemoryNonceStore())  # the settings-link rules
    assert claims.crm_user_id == "u1" and claims.expires_at - claims.issued_at <= timedelta(minutes=15)
    # Every later run that still finds it stopped: no second notification, no CRM call.
    calls = app.crm.calls  # type: ignore[attr-defined]
    for n in range(2, 6):
        clock.advance(minutes=5)
        run = log_run(app, n, contacts=STOP)
        connection = app.store.get_connection(CID)
        assert connection is not None
        assert after_run(app, connection, run) == []
    assert len(sent(app)) == 1 and app.crm.calls == calls  # type: ignore[attr-defined]


def test_a_lost_reply_is_sent_again_with_the_same_id_and_a_cleared_reason_can_come_back() -> None:
    app, clock = world()
    log_run(app, 1, contacts=STOP)
    app.crm.caps = Capabilities(notifications=False)  # type: ignore[attr-defined]  # the CRM answers 404 for now
    assert notify_crm(app, CID) == []
    connection = app.store.get_connection(CID)
    assert connection is not None
    [notice] = connection.notices.values()
    assert notice.delivered_at is None  # recorded before any call, not yet confirmed
    app.crm.caps = Capabilities(notifications=True)  # type: ignore[attr-defined]
    clock.advance(minutes=5)
    assert notify_crm(app, CID) == [notice.id]  # the same id: the CRM dedupes a retry by it
    assert [n.id for n in sent(app)] == [notice.id]
    # The user approves the deletes; the next run is in sync: the notice is forgotten.
    clock.advance(minutes=5)
    log_run(app, 2)
    assert notify_crm(app, CID) == []
    assert app.store.get_connection(CID).notices == {}  # type: ignore[union-attr]
    # It stops again later: a new reason, a new notification.
    clock.advance(hours=1)
    log_run(app, 3, contacts=STOP)
    [again] = notify_crm(app, CID)
    assert again != notice.id and len(sent(app)) == 2


@pytest.mark.parametrize(
    ("setup", "reason", "kind"),
    [
        ("needs reauth", "reconnect", None),
        ("calendar gone", "kind_stopped", "activities"),
        ("failing two days", "records_failing", "tasks"),
    ],
)
def test_each_reason_the_user_is_needed(setup: str, reason: str, kind: str | None) -> None:
    app, clock = world()
    if setup == "needs reauth":
        app.store.update_connection(CID, {"status": ConnectionStatus.NEEDS_REAUTH})
    if setup == "calendar gone":
        stop = report(stopped="the calendar 'Team' is gone", setting="event_options.read_calendars", complete=False)
        log_run(app, 1, events=stop)
    if setup == "failing two days":
        failing = report(errors=["update in crm of t9: CRM 422: title too long"])
        log_run(app, 1, tasks=failing)
        clock.advance(days=2)
        log_run(app, 2, tasks=failing)
    [delivered] = notify_crm(app, CID)
    [notification] = sent(app)
    assert (notification.id, notification.reason.value, notification.kind) == (delivered, reason, kind)


def test_records_failing_for_less_than_a_day_are_not_told() -> None:
    app, clock = world()
    failing = report(errors=["update in crm of t9: CRM 422: title too long"])
    log_run(app, 1, tasks=failing)
    clock.advance(hours=20)
    log_run(app, 2, tasks=failing)
    assert notify_crm(app, CID) == [] and sent(app) == []


def test_a_quiet_healthy_run_costs_nothing() -> None:
    app, _clock = world()
    connection = app.store.get_connection(CID)
    assert connection is not None
    calls = app.crm.calls  # type: ignore[attr-defined]
    assert after_run(app, connection, log_run(app, 1)) == []
    assert app.crm.calls == calls and app.store.get_connection(CID).notices == {}  # type: ignore[attr-defined,union-attr]


def test_the_status_api_carries_the_same_notifications() -> None:
    app, _clock = world()
    log_run(app, 1, contacts=STOP)
    app.crm.caps = Capabilities(notifications=False)  # type: ignore[attr-defined]  # a CRM without the endpoint
    notify_crm(app, CID)
    assert sent(app) == []
    client = Client(WebApp(app))
    status = client.get("/status", headers={"Authorization": f"Bearer {CRM_KEY}", "X-CRM-User": "u1"}).json
    [shown] = status["notifications"]
    assert (shown["reason"], shown["kind"], shown["delivered_at"]) == ("safety_stop", "contacts", None)
    assert "stopped before deleting 15 records" in shown["message"]


@pytest.mark.parametrize("answer", ["delete", "restore"])
def test_a_safety_stop_the_user_answered_is_not_told(answer: str) -> None:
    """Either answer ("Delete them" or "Keep them") waits for the next run: nothing to tell the CRM."""
    from datetime import UTC, datetime

    from crmsync.sync.approvals import StopAnswer, choices_of, keep_choices, stop_choice

    app, _clock = world()
    run = log_run(app, 1, contacts={**STOP, "would_delete": [{"side": "google", "crm_id": "c1", "google_id": "g1"}]})
    links = app.store.connection_store(CID)
    cursor = links.cursor(Kind.CONTACTS)
    choice = stop_choice(
        StopAnswer(answer), [{"side": "google", "crm_id": "c1", "google_id": "g1"}], 15, datetime.now(UTC), "u1"
    )
    keep_choices(cursor, choices_of(cursor).model_copy(update={"stop": choice}))
    links.save_cursor(cursor)
    connection = app.store.get_connection(CID)
    assert connection is not None
    assert after_run(app, connection, run) == [] and sent(app) == []
