"""Seeding at size (25,000 contacts, every tricky record) and the server command line.

How fast seeding is belongs to `bench.crm_bench` (`seed_25k_contacts`), not to a timed test.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from crmsync.crm.port import CrmValidation
from crmsync.crm.rest import RestCrmConnector
from infra.crm import CrmServer
from infra.crm.seed import TRICKY_PATH, seed

from .conftest import API_KEY

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[3]


def test_seeding_25000_contacts_serves_them_all_through_the_feed(tmp_path: Path) -> None:
    summary = seed(tmp_path / "crm.sqlite", contacts=25_000, activities=300, tasks=200, users=4)
    assert summary["contacts"] == 25_000
    server = CrmServer(tmp_path / "crm.sqlite", api_key=API_KEY).start()
    try:
        conn = RestCrmConnector(server.base_url, API_KEY)
        total, cursor = 0, None
        while True:
            page = conn.changes("contacts", cursor)
            total += len(page.items)
            cursor = page.next_cursor
            if not page.has_more:
                break
        assert total == 25_000 + 15  # plus the tricky contacts
        conn.close()
    finally:
        server.stop()


def test_seed_holds_every_tricky_record_and_the_bad_email_stays_reachable(tmp_path: Path) -> None:
    tricky = json.loads(TRICKY_PATH.read_text(encoding="utf-8"))
    summary = seed(tmp_path / "crm.sqlite", contacts=50, activities=20, tasks=10, users=3)
    keys = {r["key"] for kind in ("contacts", "activities", "tasks") for r in tricky[kind]}
    assert keys <= set(summary["tricky"])
    assert "a09+1" in summary["tricky"]  # the split series' second half
    server = CrmServer(tmp_path / "crm.sqlite", api_key=API_KEY).start()
    try:
        conn = RestCrmConnector(server.base_url, API_KEY)
        bad = conn.get("contacts", summary["tricky"]["c15"])
        assert bad.emails[0].value == "not-an-email@"  # type: ignore[union-attr]
        # An edit that leaves the bad e-mail alone is accepted; one that touches it is checked.
        assert conn.update("contacts", bad.id, {"title": "QA"}, bad.version).version == bad.version + 1
        with pytest.raises(CrmValidation) as err:
            conn.update("contacts", bad.id, {"emails": [{"type": "work", "value": "still@bad"}]}, bad.version + 1)
        assert err.value.errors[0].path == "/emails/0/value"
        allday = conn.get("activities", summary["tricky"]["a04"])
        assert (allday.start_date, allday.end_date) == ("2026-12-24", "2026-12-26")  # type: ignore[union-attr]
        long_notes = conn.get("contacts", summary["tricky"]["c12"])
        assert len(long_notes.notes or "") == 30_000  # type: ignore[union-attr]
        conn.close()
    finally:
        server.stop()


def test_seed_command_line(tmp_path: Path) -> None:
    db = tmp_path / "cli.sqlite"
    args = ["--db", str(db), "--contacts", "30", "--activities", "5", "--tasks", "5", "--users", "2"]
    out = subprocess.run(
        [sys.executable, "-m", "infra.crm.seed", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert json.loads(out.stdout)["contacts"] == 30
    bad = subprocess.run(
        [sys.executable, "-m", "infra.crm.seed", "--db", str(db), "--contacts", "-1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 2
    assert "--contacts cannot be negative" in bad.stderr


def test_server_runs_as_a_module_and_prints_its_url(tmp_path: Path) -> None:
    db = tmp_path / "cli.sqlite"
    cmd = [
        sys.executable,
        "-m",
        "infra.crm",
        "--db",
        str(db),
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        "--api-key",
        "k123",
    ]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        base = proc.stdout.readline().strip()
        assert base.startswith("http://127.0.0.1:")
        assert requests.get(f"{base}/health", timeout=5).json() == {"status": "ok"}
        unauth = requests.get(f"{base}/contacts/changes", timeout=5)
        assert unauth.status_code == 401
        assert unauth.headers["Content-Type"] == "application/problem+json"
        ok = requests.get(f"{base}/contacts/changes", headers={"Authorization": "Bearer k123"}, timeout=5)
        assert ok.status_code == 200
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert proc.returncode == 0
