"""docs/connect-links.md's examples, run as written, make links the real web app accepts; its stated
limits are the code's."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from crmsync.security import links
from infra.google_emulator.server import EmulatorServer
from tests.integration.web.browserless import browser_session, connect
from tests.integration.web.stack import LINK_KEY, Stack, running_stack

pytestmark = pytest.mark.integration
DOC = Path(__file__).resolve().parents[3] / "docs" / "connect-links.md"


def _block(lang: str) -> str:
    match = re.search(rf"```{lang}\n(.*?)```", DOC.read_text(), re.DOTALL)
    assert match, f"docs/connect-links.md has no {lang} example"
    return match.group(1)


@pytest.fixture
def stack(emulator: EmulatorServer, tmp_path: Path):  # type: ignore[no-untyped-def]
    with running_stack(emulator.base_url, tmp_path) as s:
        yield s


def _env(stack: Stack) -> dict[str, str]:
    return {**os.environ, "CRMSYNC_LINK_SIGNING_KEY": LINK_KEY, "CRMSYNC_BASE_URL": stack.base_url}


def test_the_python_example_makes_a_connect_and_a_settings_link_that_work(stack: Stack, tmp_path: Path) -> None:
    script = tmp_path / "link.py"
    script.write_text(_block("python"))
    out = subprocess.run([sys.executable, str(script)], env=_env(stack), capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    connect_link, settings_link = out.stdout.split()
    page = browser_session().get(connect_link, timeout=10)
    assert page.status_code == 200 and 'id="confirm-name">Ana<' in page.text
    connect(stack, "u1")  # now connected: the settings link opens the page
    assert browser_session().get(settings_link, timeout=10).url == stack.base_url + "/settings"


def test_the_shell_example_makes_a_connect_and_a_settings_link_that_work(stack: Stack, tmp_path: Path) -> None:
    script = tmp_path / "link.sh"
    script.write_text(_block("sh"))

    def make(*args: str) -> str:
        out = subprocess.run(["sh", str(script), *args], env=_env(stack), capture_output=True, text=True, timeout=30)
        assert out.returncode == 0, out.stderr
        return out.stdout.strip()

    page = browser_session().get(make("u1"), timeout=10)
    assert page.status_code == 200 and 'id="confirm-email">ana@example.com<' in page.text
    connect(stack, "u1")
    assert browser_session().get(make("u1", "settings"), timeout=10).url == stack.base_url + "/settings"


def test_the_documented_limits_are_the_codes() -> None:
    text = DOC.read_text()
    assert links.MAX_LIFETIME.total_seconds() == 900 and "at most 15 minutes (900 s)" in text
    assert f"`{links.AUDIENCE}`" in text
    assert {p.value for p in links.LinkPurpose} == {"connect", "settings"}
    assert links.MAX_ID_CHARS == 256 and "1–256 characters" in text
    assert links.LEEWAY.total_seconds() == 5 and "5 seconds" in text
