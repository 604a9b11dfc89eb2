"""CloudTasksQueue against gcloud-tasks-emulator: create task -> the emulator POSTs to a local server.

The emulator does not de-duplicate task names nor add OIDC headers, so these tests check only what
it does: the request's method, URL, body, headers, queue shard and schedule time."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from crmsync.queue.cloud_tasks import CloudTasksQueue, CloudTasksSettings, cloud_tasks_queue_from_env, shard_of
from tests.integration.scheduling.conftest import tasks_client

pytestmark = pytest.mark.integration


class Received:
    """Requests the local 'worker' got; the first ``fail_first`` answers are 503."""

    def __init__(self, fail_first: int = 0) -> None:
        self.items: list[tuple[str, dict[str, str], dict[str, Any], float]] = []
        self.fail_first = fail_first
        self.cond = threading.Condition()

    def wait_for(self, n: int, timeout: float = 20) -> list[tuple[str, dict[str, str], dict[str, Any], float]]:
        with self.cond:
            assert self.cond.wait_for(lambda: len(self.items) >= n, timeout), f"got {len(self.items)} of {n} requests"
            return list(self.items)


@pytest.fixture
def worker() -> Iterator[tuple[str, Received]]:
    received = Received(fail_first=1)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            with received.cond:
                received.items.append(
                    (self.path, {k.lower(): v for k, v in self.headers.items()}, body, time.monotonic())
                )
                failing = received.fail_first > 0
                received.fail_first -= int(failing)
                received.cond.notify_all()
            self.send_response(503 if failing else 200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/", received
    server.shutdown()
    server.server_close()


def _queue(host: str, url: str) -> CloudTasksQueue:
    project = f"p{uuid.uuid4().hex[:8]}"  # each test its own queues
    settings = CloudTasksSettings(
        project=project,
        location="europe-west1",
        queues=("crmsync-sync-0", "crmsync-sync-1"),
        worker_url=url,
        service_account_email="tasks@example.iam.gserviceaccount.com",
        headers={"X-CrmSync-Internal": "local-secret-for-the-stack"},
    )
    client = tasks_client(host)
    parent = f"projects/{project}/locations/europe-west1"
    for queue_id in settings.queues:
        client.create_queue(parent=parent, queue={"name": f"{parent}/queues/{queue_id}"})
    return CloudTasksQueue(client, settings)


def test_tasks_reach_the_worker_with_body_headers_and_shard_queue(tasks_emulator_host: str, worker: Any) -> None:
    url, received = worker
    queue = _queue(tasks_emulator_host, url)
    ids = ["conn-a", "conn-b", "conn-c", "conn-d"]
    for cid in ids:
        assert queue.enqueue(cid, name=f"{cid}-5900", payload={"connection_id": cid, "reason": "tick"}) is True
    items = received.wait_for(len(ids) + 1)  # one 503 is retried by the emulator
    got = {body["connection_id"]: (path, headers) for path, headers, body, _ in items}
    assert set(got) == set(ids)
    for cid, (path, headers) in got.items():
        assert path == "/"
        assert headers["content-type"] == "application/json"
        assert headers["x-crmsync-internal"] == "local-secret-for-the-stack"
        assert headers["x-cloudtasks-taskname"] == f"{cid}-5900"
        assert headers["x-cloudtasks-queuename"].endswith(f"/queues/crmsync-sync-{shard_of(cid, 2)}")
    retried = [b["connection_id"] for _, _, b, _ in items]
    assert len(retried) == len(ids) + 1  # the task answered 503 came again


def test_a_delayed_task_is_dispatched_after_its_schedule_time(tasks_emulator_host: str, worker: Any) -> None:
    url, received = worker
    received.fail_first = 0
    queue = _queue(tasks_emulator_host, url)
    started = time.monotonic()
    assert queue.enqueue("conn-late", name=None, delay_seconds=2, payload={"connection_id": "conn-late"})
    (_, _, body, at), *_ = received.wait_for(1)
    assert body == {"connection_id": "conn-late"}
    assert at - started >= 1.5


def test_queue_from_env_talks_to_the_emulator(tasks_emulator_host: str, worker: Any) -> None:
    url, received = worker
    received.fail_first = 0
    queue = _queue(tasks_emulator_host, url)
    env = {
        "CRMSYNC_PROJECT": queue.settings.project,
        "CRMSYNC_REGION": "europe-west1",
        "CRMSYNC_TASKS_QUEUES": "crmsync-sync-0,crmsync-sync-1",
        "CRMSYNC_WORKER_URL": url,
        "CLOUD_TASKS_EMULATOR_HOST": tasks_emulator_host,
    }
    from_env = cloud_tasks_queue_from_env(env)
    assert from_env.enqueue("conn-env", name="conn-env-1", payload={"connection_id": "conn-env"})
    assert received.wait_for(1)[0][2] == {"connection_id": "conn-env"}
