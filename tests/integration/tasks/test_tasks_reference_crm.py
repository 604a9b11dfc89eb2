"""Task sync between the reference CRM (SQLite, over HTTP) and the Google emulator."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from crmsync.crm.models import Task
from crmsync.crm.rest import RestCrmConnector
from crmsync.store.memory import MemoryStore
from infra.crm.server import CrmServer
from tests.integration.tasks.tasks_support import TaskWorld, server_calls, tasks_service

pytestmark = pytest.mark.integration
API_KEY = "tasks-test-key"


@pytest.fixture
def world(emulator: Any, tmp_path: Path) -> Iterator[TaskWorld]:
    server = CrmServer(tmp_path / "crm.sqlite", api_key=API_KEY).start()
    conn = RestCrmConnector(server.base_url, API_KEY, sleep=lambda _s: None, max_attempts=2)
    server.store.add_user("anna@corp.example", "Anna", user_id="u1")
    yield TaskWorld(emulator, conn, MemoryStore().connection_store("conn1"))
    conn.close()
    server.stop()


def test_t01_and_t03_over_http(world: TaskWorld) -> None:
    w = world
    t01 = w.crm.create("tasks", {"owner_id": "u1", "title": "Call back", "due": "2026-11-25T16:30:00+01:00"}, "k1").id
    t03 = w.crm.create("tasks", {"owner_id": "u1", "title": "Send offer", "due": "2026-11-26"}, "k3").id
    w.later()
    assert w.sync().writes == {"google.create": 2}
    svc = tasks_service(w.emulator)
    lid = next(li["id"] for li in svc.tasklists().list().execute()["items"] if li["title"] == "CRM")
    g = {t["title"]: t for t in w.google_tasks().values()}
    svc.tasks().patch(tasklist=lid, task=g["Call back"]["id"], body={"due": "2026-11-28T00:00:00.000Z"}).execute()
    svc.tasks().patch(tasklist=lid, task=g["Send offer"]["id"], body={"status": "completed"}).execute()
    rec = w.crm.get("tasks", t03)
    w.crm.update("tasks", t03, {"title": "Send offer (v2)"}, rec.version)
    w.later()
    report = w.sync()
    assert report.complete
    assert report.conflicts == []
    a, b = w.crm.get("tasks", t01), w.crm.get("tasks", t03)
    assert isinstance(a, Task)
    assert isinstance(b, Task)
    assert a.due == "2026-11-28T16:30:00+01:00"
    assert (b.title, b.status) == ("Send offer (v2)", "completed")
    assert {t["title"] for t in w.google_tasks().values()} == {"Call back", "Send offer (v2)"}
    w.later()
    w.sync()
    before, crm_before = server_calls(w.emulator), w.crm.calls
    w.later()
    assert w.sync().writes == {}
    after = server_calls(w.emulator)
    assert {k: v - before.get(k, 0) for k, v in after.items() if v != before.get(k, 0)} == {"tasks.tasks.list": 1}
    assert w.crm.calls - crm_before == 1
