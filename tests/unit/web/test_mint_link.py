"""The connect-link minting command."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from crmsync.security.links import InMemoryNonceStore, verify_connect_token, verify_settings_token

pytestmark = pytest.mark.unit
SCRIPT = Path(__file__).resolve().parents[3] / "scripts" / "mint_connect_link.py"
KEY = "m" * 40


def run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SCRIPT), *args], env=env, capture_output=True, text=True, timeout=30)


def test_prints_a_link_that_verifies(tmp_path: Path) -> None:
    env = {"CRMSYNC_LINK_SIGNING_KEY": KEY, "CRMSYNC_BASE_URL": "http://127.0.0.1:8080/"}
    out = run("--crm-user", "u1", "--ttl", "10m", "--env-file", str(tmp_path / "none"), env=env)
    assert out.returncode == 0, out.stderr
    url = out.stdout.strip()
    assert url.startswith("http://127.0.0.1:8080/connect?t=")
    claims = verify_connect_token(
        parse_qs(urlsplit(url).query)["t"][0], KEY.encode(), datetime.now(UTC), InMemoryNonceStore()
    )
    assert claims.crm_user_id == "u1"
    assert timedelta(minutes=9) < claims.expires_at - claims.issued_at <= timedelta(minutes=10)


def test_prints_a_settings_link_and_refuses_a_lifetime_the_server_would_refuse(tmp_path: Path) -> None:
    env = {"CRMSYNC_LINK_SIGNING_KEY": KEY, "CRMSYNC_BASE_URL": "http://127.0.0.1:8080/"}
    out = run("--crm-user", "u1", "--settings", "--env-file", str(tmp_path / "none"), env=env)
    assert out.returncode == 0, out.stderr
    url = out.stdout.strip()
    assert url.startswith("http://127.0.0.1:8080/settings?t=")
    token = parse_qs(urlsplit(url).query)["t"][0]
    assert verify_settings_token(token, KEY.encode(), datetime.now(UTC), InMemoryNonceStore()).crm_user_id == "u1"
    too_long = run("--crm-user", "u1", "--ttl", "2h", "--env-file", str(tmp_path / "none"), env=env)
    assert too_long.returncode == 2
    assert "at most 15m" in too_long.stderr


def test_reads_the_local_env_file_and_reports_bad_input(tmp_path: Path) -> None:
    env_file = tmp_path / "env"
    env_file.write_text(f"CRMSYNC_LINK_SIGNING_KEY={KEY}\nCRMSYNC_BASE_URL=http://localhost:1\n")
    assert run("--crm-user", "u1", "--env-file", str(env_file), env={}).stdout.startswith("http://localhost:1/connect")
    bad_ttl = run("--crm-user", "u1", "--ttl", "forever", "--env-file", str(env_file), env={})
    assert bad_ttl.returncode == 2
    assert "--ttl must look like" in bad_ttl.stderr
    no_key = run("--crm-user", "u1", "--env-file", str(tmp_path / "none"), env={})
    assert no_key.returncode != 0
    assert "CRMSYNC_LINK_SIGNING_KEY is not set" in no_key.stderr
