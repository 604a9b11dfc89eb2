"""scripts/mint_connect_link.py against what `make run` leaves behind: .local/secrets.json and
.local/stack.json, with users named by e-mail or id and checked in the (reference) CRM."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from crmsync.security.links import InMemoryNonceStore, verify_connect_token
from infra.crm import CrmServer

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[3]
SCRIPT = ROOT / "scripts" / "mint_connect_link.py"
LINK_KEY = "l" * 44
CRM_KEY = "crm-key-for-the-mint-test"


@pytest.fixture
def local(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A .local directory as `make run` writes it, and a running reference CRM with one user."""
    server = CrmServer(tmp_path / "crm.sqlite", api_key=CRM_KEY).start()
    user = server.store.add_user("user1@crm.example", "User One")
    (tmp_path / "secrets.json").write_text(json.dumps({"link_key": LINK_KEY, "crm_key": CRM_KEY, "admin_key": "x"}))
    (tmp_path / "stack.json").write_text(json.dumps({"web": "http://127.0.0.1:40001", "crm": server.base_url}))
    try:
        yield tmp_path, user.id
    finally:
        server.stop()


def mint(local: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--local-dir", str(local), *args],
        env={"PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _user_of(url: str) -> str:
    token = parse_qs(urlsplit(url).query)["t"][0]
    return verify_connect_token(token, LINK_KEY.encode(), datetime.now(UTC), InMemoryNonceStore()).crm_user_id


def test_an_email_is_looked_up_in_the_crm_and_the_link_uses_its_id(local: tuple[Path, str]) -> None:
    folder, user_id = local
    out = mint(folder, "--crm-user", "user1@crm.example")
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("http://127.0.0.1:40001/connect?t=")
    assert _user_of(out.stdout.strip()) == user_id


def test_an_id_is_checked_and_an_unknown_user_is_refused_in_words(local: tuple[Path, str]) -> None:
    folder, user_id = local
    assert _user_of(mint(folder, "--crm-user", user_id).stdout.strip()) == user_id
    unknown = mint(folder, "--crm-user", "u1")
    assert unknown.returncode != 0
    assert "has no such user" in unknown.stderr
    assert "Traceback" not in unknown.stderr


def test_without_a_crm_an_id_is_trusted_and_an_email_explained(tmp_path: Path) -> None:
    (tmp_path / "secrets.json").write_text(json.dumps({"link_key": LINK_KEY}))
    (tmp_path / "stack.json").write_text(json.dumps({"web": "http://127.0.0.1:40002"}))
    assert _user_of(mint(tmp_path, "--crm-user", "usr_abc").stdout.strip()) == "usr_abc"
    by_mail = mint(tmp_path, "--crm-user", "user1@crm.example")
    assert by_mail.returncode != 0
    assert "needs the CRM" in by_mail.stderr
    nothing = mint(tmp_path / "missing", "--crm-user", "usr_abc")
    assert "run `make run` first" in nothing.stderr
