"""crmsync tells the reference CRM when a user is needed, over real HTTP (issue 15): the CRM keeps and
lists it; a reply lost on the way back is retried after the next run with the same id, and the CRM
still shows one notification; a malformed notification is a 4xx."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from crmsync.bootstrap import App
from crmsync.crm.rest import RestCrmConnector
from crmsync.model.kinds import Kind
from crmsync.services.notify_crm import notify_crm
from crmsync.services.scopes import connection_id_for
from infra.crm import CrmServer
from tests.unit.services.appfakes import make_app, seed_connection

pytestmark = pytest.mark.integration
KEY = "crm-key-notifications"
CID = connection_id_for("u1")


@pytest.fixture
def crm(tmp_path: Path) -> Iterator[CrmServer]:
    server = CrmServer(tmp_path / "crm.sqlite", api_key=KEY).start()
    server.store.add_user("ana@example.com", "Ana", user_id="u1")
    yield server
    server.stop()


def lossy_proxy(target: str, lose: list[bool]) -> Any:
    """Forwards every call; answers 502 instead of the CRM's reply to a notification while ``lose`` says so."""

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host", "content-length")}
        reply = requests.request(
            request.method, target + request.full_path.rstrip("?"), data=request.get_data(), headers=headers, timeout=10
        )
        if request.path == "/notifications" and lose and lose.pop(0):
            return Response("bad gateway", status=502)(environ, start_response)
        return Response(reply.content, status=reply.status_code, content_type=reply.headers.get("Content-Type"))(
            environ, start_response
        )

    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def stopped_app(base_url: str) -> App:
    app, _google, _clock = make_app()
    app.crm = RestCrmConnector(base_url, KEY, sleep=lambda _s: None, max_attempts=1)  # type: ignore[misc]
    seed_connection(app, "u1")
    stop = {"writes": {}, "notes": [], "errors": [], "conflicts": [], "complete": False}
    stop.update(stopped="stopped before deleting 15 contacts", would_delete=[{"name": "A"}] * 15)
    reports = {k.value: {"kind": k.value, "complete": True} for k in Kind} | {"contacts": {"kind": "contacts", **stop}}
    now = app.clock()
    run = {"run_id": "r1", "started_at": now, "finished_at": now, "reason": "tick", "kinds": reports}
    app.store.append_run(CID, "r1", run, now + timedelta(days=30))
    return app


def listed(crm: CrmServer) -> list[dict[str, Any]]:
    resp = requests.get(
        crm.base_url + "/notifications",
        params={"user_id": "u1"},
        headers={"Authorization": f"Bearer {KEY}"},
        timeout=10,
    )
    resp.raise_for_status()
    return list(resp.json()["items"])


def test_a_lost_reply_is_retried_with_the_same_id_and_the_crm_shows_one_notification(crm: CrmServer) -> None:
    lose = [True]  # the first reply is lost: the CRM stored it, crmsync saw a 502
    proxy = lossy_proxy(crm.base_url, lose)
    try:
        app = stopped_app(f"http://127.0.0.1:{proxy.server_port}")
        assert notify_crm(app, CID) == []
        [stored] = listed(crm)
        assert stored["reason"] == "safety_stop" and stored["kind"] == "contacts" and stored["user_id"] == "u1"
        notice = next(iter(app.store.get_connection(CID).notices.values()))  # type: ignore[union-attr]
        assert notice.id == stored["id"] and notice.delivered_at is None
        # The next run: the same id again; the CRM answers it as a replay; crmsync marks it delivered.
        assert notify_crm(app, CID) == [notice.id]
        assert [n["id"] for n in listed(crm)] == [notice.id]
        assert app.store.get_connection(CID).notices["safety_stop:contacts"].delivered_at is not None  # type: ignore[union-attr]
        # And no more calls while the reason stays.
        assert notify_crm(app, CID) == [] and len(listed(crm)) == 1
    finally:
        proxy.shutdown()


@pytest.mark.parametrize(
    ("change", "status"),
    [
        ({"reason": "bored"}, 422),
        ({"extra": 1}, 422),
        ({"id": "has space"}, 422),
        ({}, 201),
    ],
)
def test_the_reference_crm_checks_what_it_receives(crm: CrmServer, change: dict[str, Any], status: int) -> None:
    body = {
        "id": "ntf-1",
        "user_id": "u1",
        "reason": "reconnect",
        "kind": None,
        "message": "Reconnect Google.",
        "settings_url": "https://sync.example.com/settings",
        "settings_link": None,
        "settings_link_expires_at": None,
        "created_at": "2026-12-02T09:00:00Z",
        **change,
    }
    headers = {"Authorization": f"Bearer {KEY}", "Idempotency-Key": str(body["id"]), "X-CRM-User": "u1"}
    resp = requests.post(crm.base_url + "/notifications", json=body, headers=headers, timeout=10)
    assert resp.status_code == status, resp.text
    if status == 201:
        again = requests.post(crm.base_url + "/notifications", json=body, headers=headers, timeout=10)
        assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"
        other = requests.post(
            crm.base_url + "/notifications", json={**body, "message": "Something else."}, headers=headers, timeout=10
        )
        assert other.status_code == 422 and other.json()["type"].endswith("idempotency-key-reused")
        assert len(listed(crm)) == 1


def test_a_reconnect_the_crm_did_not_confirm_is_sent_again_by_a_delayed_task(crm: CrmServer) -> None:
    """No run comes for a connection that needs reconnecting (the fan-out skips it), so a notice the CRM
    did not confirm is delivered by a delayed worker task that only notifies."""
    from crmsync.model.state import ConnectionStatus
    from crmsync.services.worker import SyncTask, handle_task, worker_deps

    lose = [True, True]  # the CRM's first two replies are lost
    proxy = lossy_proxy(crm.base_url, lose)
    try:
        app = stopped_app(f"http://127.0.0.1:{proxy.server_port}")
        app.store.update_connection(CID, {"status": ConnectionStatus.NEEDS_REAUTH})
        assert notify_crm(app, CID) == []
        [task] = app.queue.tasks  # type: ignore[attr-defined]
        assert task.payload["reason"] == "notify" and task.delay_seconds >= 30
        # The task runs: a second lost reply, so another task, later.
        handle_task(SyncTask.parse(task.payload), worker_deps(app))
        assert len(app.queue.tasks) == 2 and app.queue.tasks[1].delay_seconds > task.delay_seconds  # type: ignore[attr-defined]
        result = handle_task(SyncTask.parse(app.queue.tasks[1].payload), worker_deps(app))  # type: ignore[attr-defined]
        assert result.outcome.value == "skipped"
        [stored] = listed(crm)
        assert stored["reason"] == "reconnect" and stored["kind"] is None
        notice = app.store.get_connection(CID).notices["reconnect:-"]  # type: ignore[union-attr]
        assert notice.delivered_at is not None and notice.id == stored["id"]
        assert len(app.queue.tasks) == 2  # type: ignore[attr-defined]  # delivered: no more tasks
    finally:
        proxy.shutdown()
