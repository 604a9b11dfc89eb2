"""The reference CRM tells crmsync about its changes over real HTTP (issue 16, "The CRM"): a write through
the CRM Sync API becomes a signed POST /crm/changes to the web function, which queues a debounced
sync of that user's kind; a burst is one run; crmsync's own writes are not echoed; a failed delivery
is retried with a new id; a refused one is not."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import requests
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from crmsync.crm.rest import USER_AGENT
from crmsync.services.scopes import connection_id_for
from infra.crm import CrmServer
from infra.crm.change_hooks import ChangeNotifier
from infra.google_emulator.server import EmulatorServer
from tests.integration.web.stack import Stack, running_stack
from tests.unit.services.appfakes import seed_connection

pytestmark = pytest.mark.integration
SECRET = b"reference-crm-webhook-secret-" + b"h" * 20
KEY = "crm-key-for-hooks"


@pytest.fixture
def web(emulator: EmulatorServer, tmp_path: Path) -> Iterator[Stack]:
    with running_stack(emulator.base_url, tmp_path) as stack:
        stack.app.config = replace(stack.app.config, crm_webhook_secret=SECRET)  # type: ignore[misc]
        seed_connection(stack.app, "u1")
        yield stack


def crm_server(tmp_path: Path, url: str, secret: bytes = SECRET, **kw: Any) -> CrmServer:
    notifier = ChangeNotifier(url, secret, coalesce_s=0.2, backoff_s=0.05, **kw)
    server = CrmServer(tmp_path / "crm.sqlite", api_key=KEY, notifier=notifier)
    server.store.add_user("ana@example.com", "Ana", user_id="u1")
    server.store.add_user("bo@example.com", "Bo", user_id="u2")
    return server.start()


def write(server: CrmServer, n: int, agent: str | None = None, user: str = "u1") -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {KEY}", "X-CRM-User": user, "Idempotency-Key": f"k-{user}-{n}"}
    if agent:
        headers["User-Agent"] = agent
    resp = requests.post(
        server.base_url + "/contacts", json={"given_name": f"P{n}", "family_name": "X"}, headers=headers, timeout=10
    )
    resp.raise_for_status()
    return dict(resp.json())


def wait_for(check: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_a_crm_write_queues_one_debounced_sync_of_that_users_kind(web: Stack, tmp_path: Path) -> None:
    server = crm_server(tmp_path, web.base_url + "/crm/changes")
    try:
        record = write(server, 1)
        wait_for(lambda: len(server.notifier.deliveries) >= 1)  # type: ignore[union-attr]
        [task] = web.queue.tasks
        assert task.connection_id == connection_id_for("u1")
        assert task.payload["reason"] == "push" and task.payload["kinds"] == ["contacts"]
        [delivery] = server.notifier.deliveries  # type: ignore[union-attr]
        assert (delivery.status, delivery.user_id, delivery.kinds) == (202, "u1", ("contacts",))
        # A burst of writes: one call (gathered by the CRM), one run (debounced by crmsync).
        for n in range(2, 8):
            write(server, n)
        patch = {"title": "Chief"}
        headers = {"Authorization": f"Bearer {KEY}", "X-CRM-User": "u1", "If-Match": f'"{record["version"]}"'}
        requests.patch(f"{server.base_url}/contacts/{record['id']}", json=patch, headers=headers, timeout=10)
        wait_for(lambda: len(server.notifier.deliveries) >= 2)  # type: ignore[union-attr]
        time.sleep(0.5)
        assert len(server.notifier.deliveries) <= 3  # type: ignore[union-attr]
        assert len(web.queue.tasks) <= 2  # this window's run, or the next window's
        # A user without a connection: accepted, nothing queued.
        before = len(web.queue.tasks)
        write(server, 1, user="u2")
        wait_for(lambda: any(d.user_id == "u2" for d in server.notifier.deliveries))  # type: ignore[union-attr]
        assert len(web.queue.tasks) == before
    finally:
        server.stop()


def test_crmsyncs_own_writes_are_not_notified_back(web: Stack, tmp_path: Path) -> None:
    server = crm_server(tmp_path, web.base_url + "/crm/changes")
    try:
        write(server, 1, agent=USER_AGENT)
        time.sleep(0.6)
        assert list(server.notifier.deliveries) == [] and web.queue.tasks == []  # type: ignore[union-attr]
    finally:
        server.stop()


def test_a_failed_delivery_is_retried_with_a_new_id_and_a_refused_one_is_not(web: Stack, tmp_path: Path) -> None:
    # In front of the web function: the first two calls fail (503), the rest go through.
    seen: list[str] = []

    def flaky(environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        seen.append(request.get_json()["id"])
        if len(seen) <= 2:
            return Response("down", status=503)(environ, start_response)
        forwarded = requests.post(
            web.base_url + "/crm/changes", data=request.get_data(), headers=dict(request.headers), timeout=10
        )
        return Response(forwarded.content, status=forwarded.status_code)(environ, start_response)

    proxy = make_server("127.0.0.1", 0, flaky, threaded=True)
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    server = crm_server(tmp_path, f"http://127.0.0.1:{proxy.server_port}/")
    try:
        write(server, 1)
        wait_for(lambda: len(server.notifier.deliveries) >= 3)  # type: ignore[union-attr]
        statuses = [(d.attempt, d.status) for d in server.notifier.deliveries]  # type: ignore[union-attr]
        assert statuses == [(1, 503), (2, 503), (3, 202)]
        assert len(set(seen)) == 3  # a new id each attempt
        assert len(web.queue.tasks) == 1
    finally:
        server.stop()
        proxy.shutdown()
    # Signed with the wrong secret: refused (401) once, not retried.
    (tmp_path / "w").mkdir()
    wrong = crm_server(tmp_path / "w", web.base_url + "/crm/changes", secret=b"w" * 40)
    try:
        write(wrong, 1)
        wait_for(lambda: len(wrong.notifier.deliveries) >= 1)  # type: ignore[union-attr]
        time.sleep(0.3)
        assert [(d.attempt, d.status) for d in wrong.notifier.deliveries] == [(1, 401)]  # type: ignore[union-attr]
    finally:
        wrong.stop()
