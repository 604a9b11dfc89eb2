"""The local in-process queue (retries, dedupe window, delays, HTTP delivery, stop) and the Cloud Tasks
adapter's task shape (built with the real client library, no RPC)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from google.api_core import exceptions as api_exceptions
from google.auth.credentials import AnonymousCredentials
from google.cloud import tasks_v2

from crmsync.queue.cloud_tasks import CloudTasksQueue, CloudTasksSettings, QueueConfigError, QueueUnavailable, shard_of
from crmsync.queue.local import Backoff, LocalTaskQueue
from tests.unit.scheduling.support import NOW

pytestmark = pytest.mark.unit
FAST = Backoff(min_seconds=0.01, max_seconds=0.04, max_attempts=4)


class Script:
    """A delivery target answering from a list of statuses (then 200), recording bodies."""

    def __init__(self, *statuses: int) -> None:
        self.statuses = list(statuses)
        self.bodies: list[dict[str, Any]] = []
        self.lock = threading.Lock()

    def __call__(self, body: dict[str, Any]) -> int:
        with self.lock:
            self.bodies.append(body)
            return self.statuses.pop(0) if self.statuses else 200


def test_non_2xx_is_retried_with_growing_backoff_until_2xx() -> None:
    target = Script(503, 500, 429)
    queue = LocalTaskQueue(target, workers=1, backoff=FAST)
    try:
        assert queue.enqueue("c1", name="c1-1", payload={"connection_id": "c1"})
        assert queue.wait_idle(5)
    finally:
        queue.stop()
    assert [a.status for a in queue.attempts] == [503, 500, 429, 200]
    assert [a.attempt for a in queue.attempts] == [1, 2, 3, 4]
    assert [FAST.delay(n) for n in (1, 2, 3, 4)] == [0.01, 0.02, 0.04, 0.04]


def test_a_raising_target_counts_as_500_and_gives_up_after_max_attempts() -> None:
    def boom(body: dict[str, Any]) -> int:
        raise RuntimeError("handler crashed")

    queue = LocalTaskQueue(boom, workers=2, backoff=FAST)
    try:
        queue.enqueue("c1", name=None, payload={})
        assert queue.wait_idle(5)
    finally:
        queue.stop()
    assert [a.status for a in queue.attempts] == [500] * 4
    assert len(queue.dead) == 1


def test_a_name_is_refused_while_the_task_exists_and_for_the_window_after() -> None:
    clock = {"t": 100.0}
    target = Script()
    queue = LocalTaskQueue(target, workers=1, dedupe_window_seconds=3600, clock=lambda: clock["t"])
    try:
        assert queue.enqueue("c1", name="c1-7", delay_seconds=10, payload={"n": 1})
        assert not queue.enqueue("c1", name="c1-7", payload={"n": 2})  # still waiting
        clock["t"] += 11
        assert queue.wait_idle(5)
        assert not queue.enqueue("c1", name="c1-7", payload={"n": 3})  # ran, name still reserved
        clock["t"] += 3601
        assert queue.enqueue("c1", name="c1-7", payload={"n": 4})
        assert queue.wait_idle(5)
    finally:
        queue.stop()
    assert [b["n"] for b in target.bodies] == [1, 4]


def test_delayed_tasks_wait_for_their_time() -> None:
    target = Script()
    queue = LocalTaskQueue(target, workers=2)
    try:
        started = time.monotonic()
        queue.enqueue("late", name=None, delay_seconds=0.3, payload={"id": "late"})
        queue.enqueue("now", name=None, payload={"id": "now"})
        assert queue.wait_idle(5)
        assert time.monotonic() - started >= 0.3
    finally:
        queue.stop()
    assert [b["id"] for b in target.bodies] == ["now", "late"]


def test_stop_lets_the_running_delivery_finish_and_drops_the_rest() -> None:
    release = threading.Event()
    seen: list[str] = []

    def slow(body: dict[str, Any]) -> int:
        seen.append(body["id"])
        release.wait(5)
        return 200

    queue = LocalTaskQueue(slow, workers=1)
    queue.enqueue("a", name=None, payload={"id": "a"})
    queue.enqueue("b", name=None, delay_seconds=60, payload={"id": "b"})
    while not seen:
        time.sleep(0.005)
    threading.Timer(0.1, release.set).start()
    assert queue.stop(timeout=5) == 1
    assert [a.status for a in queue.attempts] == [200]
    with pytest.raises(RuntimeError, match="stopped"):
        queue.enqueue("c", name=None, payload={})


@pytest.fixture
def worker_server() -> Iterator[tuple[str, list[tuple[dict[str, str], dict[str, Any]]]]]:
    received: list[tuple[dict[str, str], dict[str, Any]]] = []
    statuses = [503]

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            received.append((dict(self.headers), body))
            self.send_response(statuses.pop(0) if statuses else 200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/", received
    server.shutdown()
    server.server_close()


def test_http_delivery_posts_json_with_headers_and_retries(worker_server: Any) -> None:
    url, received = worker_server
    queue = LocalTaskQueue(url, headers={"X-CrmSync-Internal": "s" * 20}, backoff=FAST)
    try:
        queue.enqueue("c1", name="c1-1", payload={"connection_id": "c1", "reason": "tick"})
        assert queue.wait_idle(5)
    finally:
        queue.stop()
    assert [a.status for a in queue.attempts] == [503, 200]
    headers, body = received[-1]
    assert body == {"connection_id": "c1", "reason": "tick"}
    assert headers["X-CrmSync-Internal"] == "s" * 20
    assert headers["Content-Type"] == "application/json"


def test_http_delivery_to_nobody_is_a_failed_attempt() -> None:
    queue = LocalTaskQueue("http://127.0.0.1:9/", backoff=Backoff(0.01, 0.01, max_attempts=2))
    try:
        queue.enqueue("c1", name=None, payload={})
        assert queue.wait_idle(10)
    finally:
        queue.stop()
    assert [a.status for a in queue.attempts] == [599, 599]


# ---------------------------------------------------------------------------------- Cloud Tasks (no RPC)

SETTINGS = CloudTasksSettings(
    project="proj",
    location="europe-west1",
    queues=("crmsync-sync-0", "crmsync-sync-1", "crmsync-sync-2"),
    worker_url="https://worker.example.run.app",
    service_account_email="tasks@proj.iam.gserviceaccount.com",
    audience="https://worker.example.run.app",
    dispatch_deadline_seconds=540,
)


class RecordingClient(tasks_v2.CloudTasksClient):
    """The real client, with create_task answered locally (what the RPC would be sent with)."""

    def __init__(self, error: Exception | None = None) -> None:
        super().__init__(credentials=AnonymousCredentials())
        self.created: list[tuple[str, tasks_v2.Task]] = []
        self.error = error

    def create_task(self, *, parent: str, task: tasks_v2.Task, timeout: float, **kw: Any) -> tasks_v2.Task:  # type: ignore[override]
        if self.error is not None:
            raise self.error
        self.created.append((parent, task))
        return task


def test_task_is_an_oidc_http_post_with_deadline_name_and_delay() -> None:
    client = RecordingClient()
    queue = CloudTasksQueue(client, SETTINGS, now=lambda: NOW)
    assert queue.enqueue("conn-1", name="conn-1-5900", delay_seconds=30, payload={"connection_id": "conn-1"})
    parent, task = client.created[0]
    assert (
        parent
        == queue.queue_path("conn-1")
        == f"projects/proj/locations/europe-west1/queues/{SETTINGS.queues[shard_of('conn-1', 3)]}"
    )
    assert task.name == f"{parent}/tasks/conn-1-5900"
    req = task.http_request
    assert (req.url, req.http_method) == (SETTINGS.worker_url, tasks_v2.HttpMethod.POST)
    assert json.loads(req.body) == {"connection_id": "conn-1"}
    assert req.headers["Content-Type"] == "application/json"
    assert (req.oidc_token.service_account_email, req.oidc_token.audience) == (
        SETTINGS.service_account_email,
        SETTINGS.audience,
    )
    assert task.dispatch_deadline.total_seconds() == 540
    assert task.schedule_time.timestamp() == NOW.timestamp() + 30


def test_already_exists_is_false_and_unavailable_is_transient() -> None:
    queue = CloudTasksQueue(RecordingClient(api_exceptions.AlreadyExists("task exists")), SETTINGS)
    assert queue.enqueue("c1", name="c1-1", payload={}) is False
    queue = CloudTasksQueue(RecordingClient(api_exceptions.ServiceUnavailable("try later")), SETTINGS)
    with pytest.raises(QueueUnavailable, match="try later"):
        queue.enqueue("c1", name="c1-1", payload={})


def test_shards_are_stable_and_spread() -> None:
    counts = [0, 0, 0]
    for i in range(3000):
        counts[shard_of(f"conn-{i}", 3)] += 1
    assert all(900 < c < 1100 for c in counts)
    assert shard_of("conn-42", 3) == shard_of("conn-42", 3) == 2  # fixed across processes (sha256, not hash())


def test_unsafe_names_are_hashed_into_valid_task_ids() -> None:
    client = RecordingClient()
    CloudTasksQueue(client, SETTINGS).enqueue("c1", name="c1/odd name", payload={})
    task_id = client.created[0][1].name.rsplit("/", 1)[1]
    assert task_id.startswith("h-")
    assert len(task_id) == 66


def test_settings_from_env_fail_naming_the_variable() -> None:
    env = {
        "CRMSYNC_PROJECT": "p",
        "CRMSYNC_REGION": "r",
        "CRMSYNC_TASKS_QUEUES": "crmsync-sync-0, crmsync-sync-1",
        "CRMSYNC_WORKER_URL": "https://w.example",
    }
    settings = CloudTasksSettings.from_env(env)
    assert settings.queues == ("crmsync-sync-0", "crmsync-sync-1")
    assert settings.service_account_email is None
    with pytest.raises(QueueConfigError, match="CRMSYNC_WORKER_URL is not set"):
        CloudTasksSettings.from_env({k: v for k, v in env.items() if k != "CRMSYNC_WORKER_URL"})
    with pytest.raises(QueueConfigError, match="not a queue id"):
        CloudTasksSettings.from_env({**env, "CRMSYNC_TASKS_QUEUES": "bad/queue"})
    with pytest.raises(QueueConfigError, match="DISPATCH_DEADLINE"):
        CloudTasksSettings.from_env({**env, "CRMSYNC_TASKS_DISPATCH_DEADLINE_SECONDS": "5"})
