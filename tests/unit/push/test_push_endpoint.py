"""Issue 16: POST /push/calendar. Only a notification of an open channel of ours, with its resource id
and its token, queues a run; the first ``sync`` message, forged, replayed and stray notifications
change nothing; a burst becomes one debounced run; malformed requests are a 4xx, never a 500."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from werkzeug.test import Client

from crmsync.model.kinds import Kind
from crmsync.model.state import ConnectionStatus
from crmsync.model.watch import WatchChannel, token_hash
from crmsync.queue.memory import MemoryTaskQueue
from crmsync.services.worker import SyncTask
from crmsync.web.app import WebApp
from tests.unit.services.appfakes import make_app, seed_connection

pytestmark = pytest.mark.unit
TOKEN = "tok-" + "x" * 40


@pytest.fixture
def setup() -> Any:
    app, _google, clock = make_app()
    conn = seed_connection(app, "u1", kinds=(Kind.EVENTS,))
    channel = WatchChannel(
        id="wc0123",
        connection_id=conn.id,
        calendar_id="primary",
        resource_id="res-primary",
        token_sha256=token_hash(TOKEN),
        expires_at=clock() + timedelta(days=7),
        created_at=clock(),
    )
    app.store.put_watch_channel(channel)
    assert isinstance(app.queue, MemoryTaskQueue)
    return app, Client(WebApp(app)), clock, conn


def headers(number: int = 2, state: str = "exists", **override: str | None) -> dict[str, str]:
    out: dict[str, str | None] = {
        "X-Goog-Channel-ID": "wc0123",
        "X-Goog-Channel-Token": TOKEN,
        "X-Goog-Channel-Expiration": "Tue, 08 Dec 2026 10:00:00 GMT",
        "X-Goog-Resource-ID": "res-primary",
        "X-Goog-Resource-URI": "https://www.googleapis.com/calendar/v3/calendars/primary/events?alt=json",
        "X-Goog-Resource-State": state,
        "X-Goog-Message-Number": str(number),
    }
    out.update(override)
    return {k: v for k, v in out.items() if v is not None}


def post(client: Client, **kw: Any) -> Any:
    return client.post("/push/calendar", headers=headers(**kw))


def test_a_genuine_notification_queues_one_debounced_events_run(setup: Any) -> None:
    app, client, _clock, conn = setup
    resp = post(client)
    assert resp.status_code == 202
    [task] = app.queue.tasks
    parsed = SyncTask.parse(task.payload)
    assert (parsed.connection_id, parsed.reason, parsed.kinds) == (conn.id, "push", (Kind.EVENTS,))
    assert 0 < task.delay_seconds <= 5
    channel = app.store.get_watch_channel("wc0123")
    assert channel is not None and channel.last_message == 2


def test_a_burst_of_notifications_is_one_run(setup: Any) -> None:
    app, client, clock, _conn = setup
    codes = []
    for n in range(2, 12):
        codes.append(post(client, number=n).status_code)
        clock.advance(seconds=0.3)
    assert set(codes) == {202}
    names = {t.name for t in app.queue.tasks}
    assert len(names) == len(app.queue.tasks) <= 2  # one run per 5-second window: 3 s of messages
    assert app.store.get_watch_channel("wc0123").last_message == 11


def test_the_sync_message_changes_nothing(setup: Any) -> None:
    app, client, _clock, _conn = setup
    assert post(client, number=1, state="sync").status_code == 204
    assert app.queue.tasks == []


@pytest.mark.parametrize(
    "forged",
    [
        {"X-Goog-Channel-Token": TOKEN + "y"},
        {"X-Goog-Channel-Token": None},
        {"X-Goog-Channel-Token": TOKEN.upper()},
        {"X-Goog-Resource-ID": "res-other"},
        {"X-Goog-Channel-ID": "wc9999"},
    ],
)
def test_a_forged_notification_changes_nothing(setup: Any, forged: dict[str, str | None]) -> None:
    app, client, _clock, _conn = setup
    resp = post(client, **forged)
    assert resp.status_code == 403
    assert app.queue.tasks == []
    channel = app.store.get_watch_channel("wc0123")
    assert channel is not None and channel.last_message == 0


def test_a_replayed_notification_changes_nothing(setup: Any) -> None:
    app, client, clock, _conn = setup
    assert post(client, number=7).status_code == 202
    clock.advance(seconds=60)  # a later window: only the message number can tell
    for n in (7, 6, 2):
        assert post(client, number=n).status_code == 204
    assert len(app.queue.tasks) == 1
    assert post(client, number=8).status_code == 202
    assert len(app.queue.tasks) == 2


def test_a_notification_for_a_connection_that_no_longer_syncs_changes_nothing(setup: Any) -> None:
    app, client, _clock, conn = setup
    app.store.update_connection(conn.id, {"status": ConnectionStatus.PAUSED})
    assert post(client).status_code == 204
    assert app.queue.tasks == []


class BrokenQueue(MemoryTaskQueue):
    def enqueue(self, *args: Any, **kwargs: Any) -> bool:
        raise RuntimeError("Cloud Tasks is down")


def test_a_queue_failure_is_a_503_and_the_retry_is_not_taken_for_a_replay(setup: Any) -> None:
    app, client, _clock, _conn = setup
    app.queue = BrokenQueue()
    resp = post(client, number=3)
    assert resp.status_code == 503 and resp.headers["Retry-After"]
    app.queue = MemoryTaskQueue()
    assert post(client, number=3).status_code == 202  # Google's retry of the same message
    assert len(app.queue.tasks) == 1


@pytest.mark.parametrize(
    "bad",
    [
        {"X-Goog-Channel-ID": None},
        {"X-Goog-Channel-ID": "bad id with spaces"},
        {"X-Goog-Channel-ID": "x" * 65},
        {"X-Goog-Resource-ID": None},
        {"X-Goog-Resource-State": "changed"},
        {"X-Goog-Resource-State": None},
        {"X-Goog-Message-Number": "0"},
        {"X-Goog-Message-Number": "-4"},
        {"X-Goog-Message-Number": "1e3"},
        {"X-Goog-Message-Number": "99999999999999999999999"},
        {"X-Goog-Message-Number": "٣"},
        {"X-Goog-Channel-Token": "t" * 300},
    ],
)
def test_malformed_notifications_are_a_400(setup: Any, bad: dict[str, str | None]) -> None:
    app, client, _clock, _conn = setup
    resp = post(client, **bad)
    assert resp.status_code == 400, resp.get_data(as_text=True)
    assert resp.headers["Content-Type"].startswith("application/problem+json")
    assert app.queue.tasks == []


def test_only_post_is_allowed(setup: Any) -> None:
    _app, client, _clock, _conn = setup
    assert client.get("/push/calendar").status_code == 405
