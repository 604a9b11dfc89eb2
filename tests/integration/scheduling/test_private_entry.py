"""functions/private.py's `fanout` and `worker` targets served by functions-framework, configured by env only
(local mode: shared-secret callers, memory store), plus the same handlers over a fake world."""

from __future__ import annotations

import importlib.util
import logging
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from werkzeug.test import EnvironBuilder

from crmsync.model.state import ConnectionStatus
from tests.unit.scheduling.support import World, registered

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[3]
SECRET = "local-internal-secret-0123456789"


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[dict[str, str]]:
    values = {
        "CRMSYNC_BASE_URL": "http://localhost:8080",
        "CRMSYNC_OAUTH_CLIENT_ID": "cid.apps.googleusercontent.com",
        "CRMSYNC_OAUTH_CLIENT_SECRET": "entry-client-secret",
        "CRMSYNC_LINK_SIGNING_KEY": "e" * 40,
        "CRMSYNC_ADMIN_API_KEY": "f" * 40,
        "CRMSYNC_CRM_BASE_URL": "http://127.0.0.1:9",
        "CRMSYNC_CRM_API_KEY": "entry-crm-key",
        "CRMSYNC_STORE": "memory",
        "CRMSYNC_VAULT": "local_file",
        "CRMSYNC_LOCAL_VAULT_PATH": str(tmp_path / "vault.json"),
        "CRMSYNC_INTERNAL_SECRET": SECRET,
    }
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield values
    root.handlers = handlers  # the app configures logging: put it back
    root.setLevel(level)


@pytest.mark.parametrize("target", ["fanout", "worker"])
def test_targets_verify_the_caller_and_answer_json(env: dict[str, str], target: str) -> None:
    import functions_framework

    app = functions_framework.create_app(target=target, source=str(ROOT / "functions" / "private.py"))
    client = app.test_client()
    assert client.post("/", json={"connection_id": "c1"}).status_code == 401
    wrong = client.post("/", json={"connection_id": "c1"}, headers={"X-CrmSync-Internal": "x" * 20})
    assert wrong.status_code == 401
    resp = client.post("/", json={"connection_id": "c1"}, headers={"X-CrmSync-Internal": SECRET})
    assert resp.status_code == 200
    if target == "worker":
        assert resp.get_json()["outcome"] == "skipped"  # nothing connected in a fresh memory store
        bad = client.post("/", data="{not json", headers={"X-CrmSync-Internal": SECRET})
        assert bad.status_code == 400
        assert "not a sync task" in bad.get_json()["error"]
    else:
        assert resp.get_json()["due"] == 0


@pytest.fixture
def private() -> ModuleType:
    spec = importlib.util.spec_from_file_location("crmsync_private_under_test", ROOT / "functions" / "private.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def world() -> Iterator[World]:
    yield from registered(World())


def _post(body: Any) -> Any:
    return EnvironBuilder(method="POST", json=body, headers={"X-CrmSync-Internal": SECRET}).get_request()


def test_handlers_map_outcomes_to_status_codes(env: dict[str, str], private: ModuleType, world: World) -> None:
    fanout = private.build_fanout(store=world.store, queue=world.queue, clock=world.clock)
    worker = private.build_worker(store=world.store, vault=world.vault, queue=world.queue, clock=world.clock)
    worker.deps = world.deps()
    world.connect("c1")
    world.connect("c2")
    body, status, _ = fanout(_post({}))
    assert status == 200
    assert '"enqueued": 2' in body
    world.sides["c2"].google.fail_calls.append("list")
    assert worker(_post(world.queue.tasks[0].payload))[1] == 200
    assert worker(_post(world.queue.tasks[1].payload))[1] == 503  # Cloud Tasks retries it
    assert worker(_post(world.queue.tasks[1].payload))[1] == 200
    assert [s.syncs for s in world.sides.values()] == [1, 2]
    assert world.store.get_connection("c1").status is ConnectionStatus.ACTIVE  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "body",
    [
        {"connection_id": "/"},
        {"connection_id": ".."},
        {"connection_id": "."},
        {"connection_id": "__x__"},
        {"connection_id": "a/b"},
        {"connection_id": "x" * 201},
        {"connection_id": "c1", "task": "a\nb"},
        {"connection_id": "c1", "continuation": 2**64},
        {"connection_id": "c1", "reason": ["tick"]},
        "[" * 20_000 + "]" * 20_000,
        '{"connection_id": "c1", "x": "' + "y" * 10_000 + '"}',
        b"\xff\xfe{",
        "",
    ],
)
def test_a_malformed_task_is_a_4xx(env: dict[str, str], body: Any) -> None:
    """Today '/', '..' and '__x__' reach the store and answer 500, which Cloud Tasks retries."""
    import functions_framework

    app = functions_framework.create_app(target="worker", source=str(ROOT / "functions" / "private.py"))
    headers = {"X-CrmSync-Internal": SECRET}
    if isinstance(body, dict):
        resp = app.test_client().post("/", json=body, headers=headers)
    else:
        resp = app.test_client().post("/", data=body, headers=headers, content_type="application/json")
    assert 400 <= resp.status_code < 500, (resp.status_code, resp.get_data(as_text=True)[:300])
    assert "not a sync task" in resp.get_json()["error"]
