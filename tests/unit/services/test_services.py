"""Services on fakes: connect, settings, status, sync now, disconnect, admin."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from crmsync.model.kinds import Kind
from crmsync.model.settings import Direction
from crmsync.model.state import ConnectionStatus, Lease
from crmsync.security.links import LinkExpired, LinkInvalid, LinkReplayed, mint_connect_token
from crmsync.services import admin, connect, disconnect, settings, status, sync_now
from crmsync.services.errors import InvalidInput, NotAllowed, NotConnected, WrongState
from crmsync.services.scopes import connection_id_for, granted_kinds
from crmsync.vault.port import TokenNotFound
from tests.unit.services.appfakes import LINK_KEY, make_app, seed_connection

pytestmark = pytest.mark.unit


def test_link_is_single_use_and_expires() -> None:
    app, _, clock = make_app()
    token = mint_connect_token(LINK_KEY, "u1", timedelta(minutes=15), clock())
    assert connect.verify_link(app, token).crm_user_id == "u1"
    with pytest.raises(LinkReplayed):
        connect.verify_link(app, token)
    old = mint_connect_token(LINK_KEY, "u1", timedelta(minutes=15), clock())
    clock.advance(minutes=16)
    with pytest.raises(LinkExpired):
        connect.verify_link(app, old)
    with pytest.raises(LinkInvalid):
        connect.verify_link(app, old[:-2] + "xx")


def test_begin_authorization_uses_pkce_offline_consent_and_stores_a_bound_state() -> None:
    app, _, clock = make_app()
    start = connect.begin_authorization(app, "u1", "binding-hash")
    query = {k: v[0] for k, v in parse_qs(urlsplit(start.authorization_url).query).items()}
    assert query["access_type"] == "offline"
    assert query["prompt"] == "consent"
    assert query["code_challenge_method"] == "S256"
    assert len(query["code_challenge"]) == 43
    assert "code_verifier" not in start.authorization_url
    assert set(query["scope"].split()) >= {"openid", "https://www.googleapis.com/auth/tasks"}
    record = app.store.take_oauth_state(query["state"], clock())
    assert record is not None
    assert record["binding"] == "binding-hash"
    assert record["crm_user_id"] == "u1"
    assert record["kinds"] == ["contacts", "events", "tasks"]
    assert app.store.take_oauth_state(query["state"], clock()) is None  # single use


def test_state_expires_after_ten_minutes() -> None:
    app, _, clock = make_app()
    start = connect.begin_authorization(app, "u1", "b")
    state = parse_qs(urlsplit(start.authorization_url).query)["state"][0]
    clock.advance(minutes=11)
    assert app.store.take_oauth_state(state, clock()) is None


def test_admin_rules_decide_who_may_connect_and_which_scopes_are_asked() -> None:
    app, _, _ = make_app()
    admin.put_config(app, {"connect": {"mode": "roles", "roles": ["admin"]}, "kinds": {"tasks": False}})
    with pytest.raises(NotAllowed, match="not enabled Google sync for your account"):
        connect.begin_authorization(app, "u1", "b")
    start = connect.begin_authorization(app, "boss", "b")
    assert "auth%2Ftasks" not in start.authorization_url
    assert "auth%2Fcontacts" in start.authorization_url
    with pytest.raises(NotAllowed, match="does not know this user"):
        connect.begin_authorization(app, "ghost", "b")


def test_update_settings_validates_with_field_paths() -> None:
    app, _, _ = make_app()
    seed_connection(app)
    with pytest.raises(InvalidInput) as err:
        settings.update_settings(app, "u1", {"interval_minutes": 0, "contacts": {"direction": "sideways"}})
    fields = {p.field for p in err.value.problems}
    assert fields == {"interval_minutes", "contacts.direction"}
    saved = settings.update_settings(app, "u1", {"interval_minutes": 30, "events": {"conflict_policy": "crm_wins"}})
    assert saved.settings.interval_minutes == 30
    stored = app.store.get_connection(connection_id_for("u1"))
    assert stored is not None
    assert stored.settings.events.conflict_policy.value == "crm_wins"


def test_settings_respect_admin_rules_and_the_grant() -> None:
    app, _, _ = make_app()
    seed_connection(app, kinds=(Kind.CONTACTS, Kind.EVENTS))
    with pytest.raises(InvalidInput, match="permission for Tasks was not granted"):
        settings.update_settings(app, "u1", {})  # defaults enable tasks, which was not granted
    admin.put_config(app, {"allowed_directions": ["crm_to_google"], "kinds": {"events": False}})
    with pytest.raises(InvalidInput) as err:
        settings.update_settings(app, "u1", {"tasks": {"enabled": False}})
    assert {p.field for p in err.value.problems} == {"contacts.direction", "events.enabled", "events.direction"}
    ok = {"contacts": {"direction": "crm_to_google"}, "events": {"enabled": False}, "tasks": {"enabled": False}}
    assert settings.update_settings(app, "u1", ok).settings.contacts.direction is Direction.CRM_TO_GOOGLE
    admin.put_config(app, {"users_may_edit": False})
    with pytest.raises(NotAllowed, match="manages the sync settings"):
        settings.update_settings(app, "u1", ok)


def test_not_connected_user_gets_a_clear_error() -> None:
    app, _, _ = make_app()
    with pytest.raises(NotConnected, match="have not connected"):
        status.get_status(app, "u1")


def test_status_summarises_runs_errors_and_conflicts() -> None:
    app, _, clock = make_app()
    seed_connection(app, kinds=(Kind.CONTACTS,))
    cid = connection_id_for("u1")
    run = {
        "started_at": clock(),
        "finished_at": clock() + timedelta(seconds=3),
        "kinds": [
            {
                "kind": "contacts",
                "writes": {"google.create": 3, "crm.update": 1},
                "conflicts": [{"field": "phones", "resolution": "crm_wins"}],
                "errors": ["con_9: invalid e-mail"],
            },
        ],
    }
    app.store.append_run(cid, "run1", run, clock() + timedelta(days=30))
    view = status.get_status(app, "u1")
    body = view.as_json()
    assert body["last_run"]["counts"] == {"contacts": {"google.create": 3, "crm.update": 1}}
    assert body["last_run"]["ok"] is False
    assert body["recent_errors"] == ["contacts: con_9: invalid e-mail"]
    assert body["recent_conflicts"] == [{"kind": "contacts", "field": "phones", "resolution": "crm_wins"}]
    assert body["kinds"]["tasks"] == {"enabled": True, "granted": False, "allowed": True, "reason": None}
    assert granted_kinds(view.connection.scopes) == {Kind.CONTACTS}


def test_status_shows_a_stopped_kind_with_its_setting_and_a_kind_waiting_for_a_quota() -> None:
    """Before: a kind stopped (or waiting) was in the run log but the page said nothing went wrong."""
    app, _, clock = make_app()
    seed_connection(app, kinds=(Kind.CONTACTS,))
    run = {
        "started_at": clock(),
        "kinds": {
            "events": {
                "kind": "events",
                "stopped": "the Google calendar 'x' no longer exists",
                "setting": "event_options.read_calendars",
            },
            "tasks": {
                "kind": "tasks",
                "waiting": "Google's project day quota is used up",
                "retry_at": clock().isoformat(),
            },
        },
    }
    app.store.append_run(connection_id_for("u1"), "run1", run, clock() + timedelta(days=30))
    body = status.get_status(app, "u1").as_json()
    assert body["last_run"]["ok"] is False
    assert body["recent_errors"] == [
        "events: stopped: the Google calendar 'x' no longer exists (setting: event_options.read_calendars)",
        "tasks: waiting: Google's project day quota is used up",
    ]


def test_sync_now_names_tasks_per_minute_and_requests_a_rerun_during_a_run() -> None:
    app, _, clock = make_app()
    seed_connection(app)
    first = sync_now.request_sync(app, "u1")
    again = sync_now.request_sync(app, "u1")
    assert first.enqueued
    assert not again.enqueued
    assert first.task_name == again.task_name
    clock.advance(seconds=61)
    cid = connection_id_for("u1")
    app.store.acquire_lease(cid, "worker-1", timedelta(minutes=5), clock())
    during = sync_now.request_sync(app, "u1")
    assert during.enqueued
    assert during.rerun_requested
    assert app.store.take_rerun(cid)
    assert len(app.queue.tasks) == 2  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("state", "message"),
    [
        (ConnectionStatus.NEEDS_REAUTH, "Reconnect Google"),
        (ConnectionStatus.PAUSED, "paused by your administrator"),
        (ConnectionStatus.DISCONNECTED, "disconnected"),
    ],
)
def test_sync_now_refuses_connections_that_cannot_sync(state: ConnectionStatus, message: str) -> None:
    app, _, _ = make_app()
    seed_connection(app, status=state)
    with pytest.raises(WrongState, match=message):
        sync_now.request_sync(app, "u1")
    assert app.queue.tasks == []  # type: ignore[attr-defined]


def test_global_pause_blocks_sync_now() -> None:
    app, _, _ = make_app()
    seed_connection(app)
    admin.put_config(app, {"sync_enabled": False})
    with pytest.raises(WrongState, match="paused all syncing"):
        sync_now.request_sync(app, "u1")


def test_disconnect_revokes_destroys_the_token_and_keeps_records() -> None:
    app, google, _ = make_app()
    seed_connection(app, lease=None)
    cid = connection_id_for("u1")
    result = disconnect.disconnect(app, "u1")
    assert result.revoked_at_google
    assert google.revoked == ["1%2F%2Frefresh-u1-abcdefgh"]
    with pytest.raises(TokenNotFound):
        app.vault.get(cid)
    conn = app.store.get_connection(cid)
    assert conn is not None
    assert conn.status is ConnectionStatus.DISCONNECTED
    assert conn.next_sync_at is None


def test_disconnect_when_google_is_down_still_destroys_the_token_and_says_so() -> None:
    app, google, _ = make_app()
    seed_connection(app)
    google.status = 503
    result = disconnect.disconnect(app, "u1")
    assert not result.revoked_at_google
    with pytest.raises(TokenNotFound):
        app.vault.get(connection_id_for("u1"))


def test_admin_pause_resume_and_listing() -> None:
    app, _, clock = make_app()
    seed_connection(app, "u1")
    clock.advance(seconds=1)
    seed_connection(app, "u2")
    cid = connection_id_for("u1")
    assert admin.pause(app, cid).status is ConnectionStatus.PAUSED
    with pytest.raises(WrongState):
        admin.resume(app, connection_id_for("u2"))  # only paused connections resume
    assert admin.resume(app, cid).status is ConnectionStatus.ACTIVE
    page = admin.list_connections(app, None, 1, None)
    assert [c.crm_user_id for c in page.items] == ["u2"]
    assert page.next_cursor
    rest = admin.list_connections(app, None, 10, page.next_cursor)
    assert [c.crm_user_id for c in rest.items] == ["u1"]
    with pytest.raises(InvalidInput) as err:
        admin.list_connections(app, "sleeping", 0, None)
    assert {p.field for p in err.value.problems} == {"status", "limit"}
    with pytest.raises(NotConnected):
        admin.pause(app, "c_nope")


def test_admin_config_is_validated() -> None:
    app, _, _ = make_app()
    with pytest.raises(InvalidInput) as err:
        admin.put_config(app, {"connect": {"mode": "users"}, "allowed_directions": [], "bogus": 1})
    fields = {p.field for p in err.value.problems}
    assert {"connect", "allowed_directions", "bogus"} <= fields
    assert admin.get_config(app).sync_enabled  # nothing stored


def test_lease_model_is_respected_by_rerun_check() -> None:
    app, _, clock = make_app()
    seed_connection(app, lease=Lease(holder="old", expires_at=clock() - timedelta(minutes=1)))
    assert not sync_now.request_sync(app, "u1").rerun_requested  # an expired lease is no running sync
