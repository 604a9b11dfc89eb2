"""docs/deploy.md stays consistent with terraform/ and with its own cost arithmetic."""

from __future__ import annotations

import json
import re

import pytest

from tests.integration.terraform.tfmodel import REPO, load

pytestmark = pytest.mark.integration

DOC = REPO / "docs" / "deploy.md"


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


def test_the_cost_section_shows_the_measured_figures() -> None:
    """Section 10's numbers are bench/results/fanout_bench.json's (the cost model of the measured counts)."""
    text = DOC.read_text()
    bench = json.loads((REPO / "bench" / "results" / "fanout_bench.json").read_text())
    user = bench["cost"]["typical_user_20_changes_a_day"]
    rows = {
        "Firestore reads": user["firestore_per_month"]["reads"],
        "Firestore writes": user["firestore_per_month"]["writes"],
        "Firestore deletes (run-log entries expiring)": user["firestore_per_month"]["deletes"],
        "Cloud Tasks operations (create + dispatch)": 2 * user["runs_per_month"],
    }
    for item, quantity in rows.items():
        match = re.search(rf"^\| {re.escape(item)} \| ([0-9,]+) \|", text, re.MULTILINE)
        assert match, f"cost table lacks a row for {item}"
        assert int(match.group(1).replace(",", "")) == quantity, f"{item}: table says {match.group(1)}"
    assert f"**${user['usd_per_user_month_total']:.3f}**" in text
    assert user["usd_per_user_month_total"] <= 0.05  # issue 16's target
    assert f"≈ ${bench['cost']['typical_users_100000']['usd_per_month']:,.0f} a month" in text
    quiet = bench["worker_runs"]["rounds"]["quiet"]["worker_per_run"]
    assert f"| {quiet['reads'] + 1:.0f} | {quiet['writes'] + 1:.0f} |" in text  # worker + the fan-out's share
    million = bench["million"]
    assert f"{million['worst_case_runs_per_s']:,} runs/s" in text
    assert f"`queue_shards = {million['cloud_tasks']['queue_shards']}`" in text
