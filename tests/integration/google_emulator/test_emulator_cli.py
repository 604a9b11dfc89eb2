"""``python -m infra.google_emulator`` as a real subprocess: prints its URL, answers, stops on SIGTERM."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]


def test_cli_prints_base_url_applies_flags_and_stops_cleanly() -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "infra.google_emulator",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--auto-approve",
            "--latency-ms",
            "120",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        base = proc.stdout.readline().strip()
        assert base.startswith("http://127.0.0.1:"), base
        assert not base.endswith(":0"), base
        settings = requests.get(base + "/__emulator/settings", timeout=5).json()
        assert settings["auto_approve"] is True
        assert settings["latency_ms"] == 120
        requests.post(base + "/__emulator/reset", timeout=5).raise_for_status()
        assert (
            requests.get(base + "/__emulator/settings", timeout=5).json()["auto_approve"] is True
        )  # flags survive reset
        minted = requests.post(
            base + "/__emulator/tokens",
            timeout=5,
            json={"email": "a@example.com", "scopes": ["https://www.googleapis.com/auth/tasks"]},
        ).json()
        started = time.perf_counter()
        lists = requests.get(
            base + "/tasks/v1/users/@me/lists", timeout=5, headers={"Authorization": "Bearer " + minted["access_token"]}
        )
        assert lists.status_code == 200
        assert time.perf_counter() - started >= 0.12
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err
