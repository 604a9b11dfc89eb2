"""Issue 16: the life of a connection's Calendar push channels, on the Google emulator through the
unmodified client, delivering over real HTTP to the web app's /push/calendar: opened per read
calendar with its own token, renewed before expiry (new first, then the old one stopped), stopped
when a calendar is no longer read, replaced when flagged (push went silent), all stopped on
disconnect; a notification from a channel opened this way queues one debounced events run."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import requests
from werkzeug.serving import make_server

from crmsync.google.calendar_channels import CalendarChannels
from crmsync.model.kinds import Kind
from crmsync.ports import OpCounter
from crmsync.queue.memory import MemoryTaskQueue
from crmsync.services import watch_channels
from crmsync.services.watch_channels import PushTarget, maintain, note_poll, stop_all
from crmsync.web.app import WebApp
from tests.support.google import credentials, service
from tests.unit.services.appfakes import make_app, seed_connection

pytestmark = pytest.mark.integration


class Web:
    """The web app served over real HTTP on loopback."""

    def __init__(self, app: Any) -> None:
        self.server = make_server("127.0.0.1", 0, WebApp(app), threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def world(emulator: Any) -> Iterator[Any]:
    requests.post(f"{emulator.base_url}/__emulator/push", json={"allow_http_loopback": True}, timeout=5)
    app, _google, clock = make_app()
    conn = seed_connection(app, "u1", kinds=(Kind.EVENTS,))
    emulator.state.clock.set(clock(), frozen=True)
    svc = service("calendar", emulator.base_url, credentials(emulator.state, "u1@gmail.example"))
    web = Web(app)
    try:
        yield app, clock, conn, svc, web, CalendarChannels(svc, OpCounter())
    finally:
        web.server.shutdown()


def open_at_google(emulator: Any) -> list[dict[str, Any]]:
    channels: list[dict[str, Any]] = requests.get(f"{emulator.base_url}/__emulator/push", timeout=5).json()["channels"]
    return channels


def wait_for(check: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_a_channel_per_read_calendar_delivers_to_the_endpoint_and_queues_a_run(emulator: Any, world: Any) -> None:
    app, clock, conn, svc, web, google = world
    other = svc.calendars().insert(body={"summary": "Team", "timeZone": "UTC"}).execute()["id"]
    target = PushTarget(web.url + "/push/calendar")
    report = maintain(app.store, google, conn.id, ["primary", other], target, clock())
    assert sorted(report.opened) == sorted(["primary", other])
    stored = app.store.watch_channels(conn.id)
    assert sorted(c.calendar_id for c in stored) == sorted(["primary", other])
    assert {c["id"] for c in open_at_google(emulator)} == {c.id for c in stored}
    assert len({c.token_sha256 for c in stored}) == 2  # each channel its own token, only its hash stored
    # A second pass changes nothing while the channels are fresh.
    assert maintain(app.store, google, conn.id, ["primary", other], target, clock()).opened == []
    # An edit in Google -> the emulator's message -> the endpoint verifies it -> one debounced run.
    svc.events().insert(
        calendarId="primary",
        body={
            "summary": "Pushed",
            "start": {"dateTime": "2026-12-01T10:00:00Z"},
            "end": {"dateTime": "2026-12-01T11:00:00Z"},
        },
    ).execute()
    queue = app.queue
    assert isinstance(queue, MemoryTaskQueue)
    wait_for(lambda: len(queue.tasks) == 1)
    [task] = queue.tasks
    assert task.payload["reason"] == "push" and task.payload["kinds"] == ["events"]
    deliveries = requests.get(f"{emulator.base_url}/__emulator/push/deliveries", timeout=5).json()["deliveries"]
    assert sorted((d["state"], d["status"]) for d in deliveries) == [("exists", 202), ("sync", 204), ("sync", 204)]


def test_renewal_opens_the_new_channel_before_stopping_the_old(emulator: Any, world: Any) -> None:
    app, clock, conn, _svc, web, google = world
    target = PushTarget(web.url + "/push/calendar", ttl=timedelta(days=7), renew_before=timedelta(days=2))
    maintain(app.store, google, conn.id, ["primary"], target, clock())
    [first] = app.store.watch_channels(conn.id)
    later = clock() + timedelta(days=5, hours=1)  # 47 h left: inside the renewal margin
    emulator.state.clock.set(later, frozen=True)
    fresh = service("calendar", emulator.base_url, credentials(emulator.state, "u1@gmail.example"))  # token expired
    google = CalendarChannels(fresh, OpCounter())
    report = maintain(app.store, google, conn.id, ["primary"], target, later)
    assert report.opened == ["primary"] and report.stopped == [first.id]
    [second] = app.store.watch_channels(conn.id)
    assert second.id != first.id and second.expires_at == later + timedelta(days=7)
    assert [c["id"] for c in open_at_google(emulator)] == [second.id]


def test_a_calendar_no_longer_read_has_its_channel_stopped(emulator: Any, world: Any) -> None:
    app, clock, conn, svc, web, google = world
    other = svc.calendars().insert(body={"summary": "Team", "timeZone": "UTC"}).execute()["id"]
    target = PushTarget(web.url + "/push/calendar")
    maintain(app.store, google, conn.id, ["primary", other], target, clock())
    report = maintain(app.store, google, conn.id, ["primary"], target, clock())
    assert len(report.stopped) == 1 and report.opened == []
    assert [c.calendar_id for c in app.store.watch_channels(conn.id)] == ["primary"]
    assert [c["calendarId"] for c in open_at_google(emulator)] == ["u1@gmail.example"]


def test_push_gone_silent_is_noticed_by_a_poll_and_the_channel_replaced(emulator: Any, world: Any) -> None:
    app, clock, conn, _svc, web, google = world
    target = PushTarget(web.url + "/push/calendar")
    maintain(app.store, google, conn.id, ["primary"], target, clock())
    [first] = app.store.watch_channels(conn.id)
    clock.advance(minutes=10)
    previous_run_end = clock()
    clock.advance(minutes=10)
    # A poll found 3 changed Google events and no message came since the previous run ended.
    summary = {"kinds": {"events": {"full": False, "listed": {"google": 3, "crm": 0}}}}
    assert note_poll(app.store, conn.id, "push", summary, previous_run_end) == []  # a push run proves nothing
    assert note_poll(app.store, conn.id, "rerun", summary, previous_run_end) == []  # nor a rerun (own echoes)
    quiet = {"kinds": {"events": {"full": False, "listed": {"google": 0, "crm": 2}}}}
    assert note_poll(app.store, conn.id, "tick", quiet, previous_run_end) == []  # nothing missed
    assert note_poll(app.store, conn.id, "tick", summary, previous_run_end) == [first.id]
    report = maintain(app.store, google, conn.id, ["primary"], target, clock())
    assert report.opened == ["primary"] and report.stopped == [first.id]
    [second] = app.store.watch_channels(conn.id)
    assert not second.suspect and [c["id"] for c in open_at_google(emulator)] == [second.id]
    # A channel that did announce something since the previous run is not flagged.
    app.store.accept_watch_message(second.id, 2, clock())
    clock.advance(minutes=1)
    assert note_poll(app.store, conn.id, "tick", summary, clock() - timedelta(minutes=2)) == []


def test_disconnect_stops_every_channel(emulator: Any, world: Any) -> None:
    app, clock, conn, svc, web, google = world
    other = svc.calendars().insert(body={"summary": "Team", "timeZone": "UTC"}).execute()["id"]
    maintain(app.store, google, conn.id, ["primary", other], PushTarget(web.url + "/push/calendar"), clock())
    report = stop_all(app.store, google, conn.id)
    assert len(report.stopped) == 2 and report.failed == []
    assert app.store.watch_channels(conn.id) == [] and open_at_google(emulator) == []


def test_a_failed_watch_keeps_polling_and_the_next_run_tries_again(emulator: Any, world: Any) -> None:
    app, clock, conn, _svc, _web, google = world
    target = PushTarget("http://push.example.com/push/calendar")  # not https: Google refuses it
    report = maintain(app.store, google, conn.id, ["primary"], target, clock())
    assert report.opened == [] and "primary" in report.failed[0]
    assert app.store.watch_channels(conn.id) == []
    assert watch_channels.new_channel_id() != watch_channels.new_channel_id()


def test_the_events_run_itself_keeps_the_channels(emulator: Any) -> None:
    """Through sync_connection and the real events wiring (RunDeps.push set, as the worker sets it from
    CRMSYNC_CALENDAR_PUSH=on): the first events run opens a channel on each calendar it reads, a change
    of the read calendars stops the one no longer read, and a run without push opens nothing."""
    from datetime import UTC, datetime

    from crmsync.crm.fake import FakeCrm
    from crmsync.google.client import Endpoint
    from crmsync.model.settings import SyncSettings
    from crmsync.model.state import Connection
    from crmsync.services.run_sync import GRANT_SCOPES, GoogleAccess, RunDeps, sync_connection
    from crmsync.store.memory import MemoryStore
    from tests.support.push_receiver import push_receiver

    requests.post(f"{emulator.base_url}/__emulator/push", json={"allow_http_loopback": True}, timeout=5)
    email = "runner@example.com"
    grant = requests.post(
        f"{emulator.base_url}/__emulator/grants",
        json={"email": email, "client_id": "cid", "scopes": [GRANT_SCOPES[Kind.EVENTS]]},
        timeout=10,
    ).json()
    crm = FakeCrm()
    crm.add_user("runner@crm.example", "Runner", user_id="u9")
    svc = service("calendar", emulator.base_url, credentials(emulator.state, email))
    team = svc.calendars().insert(body={"summary": "Team", "timeZone": "UTC"}).execute()["id"]
    settings = SyncSettings().model_copy(
        update={"contacts": SyncSettings().contacts.model_copy(update={"enabled": False})}
    )
    settings = settings.model_copy(update={"tasks": settings.tasks.model_copy(update={"enabled": False})})
    options = settings.event_options.model_copy(update={"read_calendars": (team,)})
    conn = Connection(
        id="conn-push",
        crm_user_id="u9",
        google_subject="9",
        google_email=email,
        scopes=[GRANT_SCOPES[Kind.EVENTS]],
        settings=settings.model_copy(update={"event_options": options}),
        created_at=datetime.now(UTC),
    )
    store = MemoryStore()
    google = GoogleAccess(Endpoint(emulator.base_url), "cid", "secret")
    with push_receiver() as receiver:
        plain = RunDeps(store, crm, google, lambda: datetime.now(UTC))
        assert sync_connection(conn, grant["refresh_token"], plain).kinds["events"]["complete"]
        assert store.watch_channels(conn.id) == []  # push off: nothing opened
        deps = RunDeps(store, crm, google, lambda: datetime.now(UTC), push=PushTarget(receiver.url))
        summary = sync_connection(conn, grant["refresh_token"], deps)
        assert summary.kinds["events"]["complete"]
        assert sorted(c.calendar_id for c in store.watch_channels(conn.id)) == sorted(["primary", team])
        receiver.wait_for(2)  # each channel's sync message
        # The user stops reading the team calendar: the next run stops its channel at Google.
        narrowed = conn.model_copy(
            update={
                "settings": conn.settings.model_copy(
                    update={"event_options": options.model_copy(update={"read_calendars": ()})}
                )
            }
        )
        sync_connection(narrowed, grant["refresh_token"], deps)
        assert [c.calendar_id for c in store.watch_channels(conn.id)] == ["primary"]
        assert [c["calendarId"] for c in open_at_google(emulator) if c["account"] == email] == [email]


def test_disconnect_stops_the_channels_at_google_with_the_users_token(emulator: Any) -> None:
    """services.disconnect: the channels are stopped at Google (channels.stop, with the stored refresh
    token, before the grant is revoked) and forgotten."""
    from dataclasses import replace

    from crmsync.services.disconnect import disconnect

    requests.post(f"{emulator.base_url}/__emulator/push", json={"allow_http_loopback": True}, timeout=5)
    app, _google, clock = make_app()
    app = replace(
        app,
        config=replace(
            app.config, google_api_base=emulator.base_url, oauth_client_id="cid", oauth_client_secret="secret"
        ),
    )
    conn = seed_connection(app, "u1", kinds=(Kind.EVENTS,))
    grant = requests.post(
        f"{emulator.base_url}/__emulator/grants",
        json={"email": conn.google_email, "client_id": "cid", "scopes": conn.scopes},
        timeout=10,
    ).json()
    app.vault.put(conn.id, grant["refresh_token"])
    svc = service("calendar", emulator.base_url, credentials(emulator.state, conn.google_email))
    web = Web(app)
    try:
        maintain(
            app.store, CalendarChannels(svc), conn.id, ["primary"], PushTarget(web.url + "/push/calendar"), clock()
        )
        assert len(open_at_google(emulator)) == 1
        disconnect(app, "u1")
        assert open_at_google(emulator) == [] and app.store.watch_channels(conn.id) == []
    finally:
        web.server.shutdown()
