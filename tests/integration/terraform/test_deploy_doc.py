"""docs/deploy.md stays consistent with terraform/ and with its own cost arithmetic."""

from __future__ import annotations

import re

import pytest

from tests.integration.terraform.tfmodel import REPO, load

pytestmark = pytest.mark.integration

DOC = REPO / "docs" / "deploy.md"
RUNS_PER_MONTH = 60 // 5 * 24 * 30


def test_outputs_and_variables_named_in_the_guide_exist() -> None:
    text = DOC.read_text()
    tf = load()
    for name in re.findall(r"terraform output(?: -raw)? ([a-z_]+)", text):
        assert name in tf.outputs, f"docs/deploy.md reads output {name}, which terraform/outputs.tf lacks"
    for name in ("oauth_redirect_uri", "connect_url_base", "settings_url", "admin_api_url"):
        assert name in text, f"the guide should explain output {name}"
    for name in ("deploy_functions", "oauth_client_id", "crm_base_url", "queue_shards", "public_base_url"):
        assert name in tf.variables
        assert name in text, f"the guide should explain variable {name}"
    assert "python3 scripts/build_function_zips.py --out build/functions" in text


def test_cost_table_quantities_follow_from_the_assumptions() -> None:
    text = DOC.read_text()
    assert RUNS_PER_MONTH == 8640
    assumed = {m[0]: float(m[1]) for m in re.findall(r"^\| \*(\w+)\* \| [^|]+ \| ([0-9.]+) \|", text, re.MULTILINE)}
    assert {"fr", "fw", "fd", "sa", "to", "t", "k"} <= set(assumed)
    expected = {
        "Firestore reads": RUNS_PER_MONTH * assumed["fr"],
        "Firestore writes": RUNS_PER_MONTH * assumed["fw"],
        "Firestore deletes": RUNS_PER_MONTH * assumed["fd"],
        "Secret Manager accesses": RUNS_PER_MONTH * assumed["sa"],
        "Worker vCPU-seconds": RUNS_PER_MONTH * assumed["t"] / assumed["k"],
        "Cloud Tasks operations": RUNS_PER_MONTH * assumed["to"],
    }
    for item, quantity in expected.items():
        match = re.search(rf"^\| {re.escape(item)} \| ([0-9,]+) \|", text, re.MULTILINE)
        assert match, f"cost table lacks a row for {item}"
        assert float(match.group(1).replace(",", "")) == quantity, f"{item}: table says {match.group(1)}"
