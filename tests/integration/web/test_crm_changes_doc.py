"""docs/crm-sync-api.md "Change notifications": the Python and the openssl/curl recipes, run as written
against the real web app over HTTP, are accepted and queue a sync; the same call sent again is a replay."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from crmsync.services.scopes import connection_id_for
from infra.google_emulator.server import EmulatorServer
from tests.integration.web.stack import Stack, running_stack
from tests.unit.services.appfakes import seed_connection

pytestmark = pytest.mark.integration
DOC = Path(__file__).resolve().parents[3] / "docs" / "crm-sync-api.md"
SECRET = "doc-webhook-secret-" + "d" * 30


def section() -> str:
    text = DOC.read_text()
    return text[text.index("## Change notifications") : text.index("## Checking your server")]


def block(lang: str) -> str:
    match = re.search(rf"```{lang}\n(.*?)```", section(), re.DOTALL)
    assert match, f"the change notifications section has no {lang} example"
    return match.group(1)


@pytest.fixture
def stack(emulator: EmulatorServer, tmp_path: Path) -> Iterator[Stack]:
    with running_stack(emulator.base_url, tmp_path) as s:
        s.app.config = replace(s.app.config, crm_webhook_secret=SECRET.encode())  # type: ignore[misc]
        seed_connection(s.app, "u1")
        yield s


def test_the_python_recipe_is_accepted(stack: Stack) -> None:
    scope: dict[str, object] = {}
    exec(block("python"), scope)
    status = scope["notify"](stack.base_url + "/crm/changes", SECRET.encode(), "u1", ["contacts", "activities"])  # type: ignore[operator]
    assert status == 202
    [task] = stack.queue.tasks
    assert task.connection_id == connection_id_for("u1") and task.payload["kinds"] == ["contacts", "events"]


@pytest.mark.skipif(not (shutil.which("openssl") and shutil.which("curl")), reason="needs openssl and curl")
def test_the_openssl_recipe_is_accepted_and_a_replay_is_refused(stack: Stack, tmp_path: Path) -> None:
    script = tmp_path / "notify.sh"
    script.write_text(block("sh"))
    env = {**os.environ, "CRMSYNC": stack.base_url, "SECRET": SECRET}
    out = subprocess.run(["bash", str(script)], env=env, capture_output=True, text=True, timeout=60, check=True)
    reply = json.loads(out.stdout)
    assert reply["queued"] == ["contacts"] and reply["ignored"] is None, out.stdout
    # The same call again (same id, re-signed): a replay, nothing more queued.
    replay = block("sh").replace('BODY="{\\"id\\":\\"evt-$(date +%s%N)\\"', f'BODY="{{\\"id\\":\\"{reply["id"]}\\"')
    assert replay != block("sh")
    script.write_text(replay)
    again = subprocess.run(["bash", str(script)], env=env, capture_output=True, text=True, timeout=60, check=True)
    assert json.loads(again.stdout)["type"] == "urn:crm-sync:problem:webhook-replayed"
    assert len(stack.queue.tasks) == 1
