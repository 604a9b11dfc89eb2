"""The conformance kit: passes against the reference CRM, fails readably against a broken server."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from crmsync.conformance.cli import main
from crmsync.conformance.runner import RULES, slug
from infra.crm import CrmServer
from tests.support.crm_faults import BrokenCrm, rename_field

pytestmark = pytest.mark.integration
DOCS = Path(__file__).resolve().parents[3] / "docs" / "crm-sync-api.md"


def _users(store: Any) -> None:
    store.add_user("admin@kit.example", "Admin", role="admin", user_id="adm")
    store.add_user("ann@kit.example", "Ann", user_id="u1")
    store.add_user("bob@kit.example", "Bob", user_id="u2")


def test_the_reference_crm_passes_every_rule_and_is_left_clean(tmp_path: Path) -> None:
    server = CrmServer(tmp_path / "crm.sqlite", api_key="kit-key").start()
    try:
        _users(server.store)
        report_path = tmp_path / "report.json"
        done = subprocess.run(
            [
                *(sys.executable, "-m", "crmsync.conformance", "--url", server.base_url, "--api-key", "kit-key"),
                *("--user", "u1", "--other-user", "u2", "--json", str(report_path)),
            ],
            capture_output=True,
            text=True,
            timeout=240,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        report = json.loads(report_path.read_text())
        assert report["passed"] and report["counts"]["fail"] == 0 and report["counts"]["skip"] == 0
        assert {r["id"] for r in report["rules"]} == {r.id for r in RULES}
        assert f"{len(RULES)} passed, 0 failed" in done.stdout
        with server.store.db.read() as db:
            live = db.execute("SELECT count(*) FROM records WHERE deleted = 0").fetchone()[0]
        assert live == 0  # every record the run made was deleted
    finally:
        server.stop()


def _break_problem_type(method: str, path: str, status: int, body: Any) -> Any:
    if isinstance(body, dict) and str(body.get("type", "")).endswith("idempotency-key-reused"):
        return {**body, "type": "urn:acme:duplicate-key"}
    if status == 412 and isinstance(body, dict):
        return {k: v for k, v in body.items() if k != "current_version"}
    if path.endswith("/changes") and isinstance(body, dict) and len(body.get("items", [])) >= 3:
        return {**body, "items": [body["items"][0], *body["items"][2:]]}  # a feed that skips a change
    return rename_field("phones", "phone_numbers")(method, path, status, body)


def test_a_broken_server_fails_the_matching_rules_with_request_reply_and_docs_section(tmp_path: Path) -> None:
    server = BrokenCrm(tmp_path / "crm.sqlite", api_key="kit-key").start()
    try:
        _users(server.store)
        server.rewrite = _break_problem_type
        out = io.StringIO()
        report_path = tmp_path / "report.json"
        code = main(["--url", server.base_url, "--api-key", "kit-key", "--user", "u1", "--json", str(report_path)], out)
        text = out.getvalue()
        assert code == 1, text
        rules = {r["id"]: r for r in json.loads(report_path.read_text())["rules"]}
        failed = {i for i, r in rules.items() if r["outcome"] == "fail"}
        assert {"records.round-trip", "writes.key-reuse", "writes.if-match", "feed.shape-and-order"} <= failed, text
        assert rules["bulk.limits"]["outcome"] == "pass"  # the rest still runs
        assert rules["users.visibility-consistent"]["outcome"] == "skip"  # no --other-user
        trip = rules["records.round-trip"]
        assert "/phone_numbers: unknown field" in trip["message"] and "did you mean 'phones'" in trip["message"]
        assert "/phones: missing" in trip["message"]
        assert trip["docs"] == "docs/crm-sync-api.md#records"
        assert trip["exchanges"][0]["request"]["method"] == "POST"
        assert "phone_numbers" in trip["exchanges"][0]["reply"]["body"]
        assert trip["exchanges"][0]["request"]["headers"]["Authorization"] == "Bearer <api key>"  # key never shown
        assert "urn:crm-sync:problem:idempotency-key-reused" in rules["writes.key-reuse"]["message"]
        assert "current_version" in rules["writes.if-match"]["message"]
        assert "commit order" in rules["feed.shape-and-order"]["message"]
        # The text report: the failing rule, where it comes from, the request and the reply.
        assert "FAIL  records.round-trip" in text and "rule: docs/crm-sync-api.md#records" in text
        assert "> POST http://127.0.0.1" in text and "< HTTP 201" in text and "kit-key" not in text
    finally:
        server.stop()


def test_an_unreachable_server_or_a_wrong_key_is_exit_code_2(tmp_path: Path) -> None:
    out = io.StringIO()
    assert main(["--url", "http://127.0.0.1:9", "--api-key", "x", "--timeout", "2"], out) == 2
    assert "cannot reach" in out.getvalue()
    server = CrmServer(tmp_path / "crm.sqlite", api_key="right").start()
    try:
        out = io.StringIO()
        assert main(["--url", server.base_url, "--api-key", "wrong"], out) == 2
        assert "refused the API key" in out.getvalue()
    finally:
        server.stop()


def test_every_rule_cites_a_section_of_the_contract_docs() -> None:
    headings = {slug(line.lstrip("#").strip()) for line in DOCS.read_text().splitlines() if line.startswith("## ")}
    missing = {r.id: r.section for r in RULES if slug(r.section) not in headings}
    assert len(RULES) >= 25 and not missing, missing
