"""The soak in two minutes (``python -m bench.soak --minutes 2``): real processes, users editing
both sides, faults, sync and CRM processes killed mid-run, Firestore emptied once; then quiet runs
and the invariant check against the driver's edit log. The long version runs for the figures."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(1500)
def test_two_minute_soak_has_no_violations(tmp_path: Path) -> None:
    out = tmp_path / "soak.json"
    proc = subprocess.run(
        [sys.executable, "-m", "bench.soak", "--minutes", "2", "--seed", "13", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=1400,
    )
    assert out.exists(), f"the soak wrote no results:\n{proc.stderr[-3000:]}"
    result = json.loads(out.read_text())
    assert result["violations"] == [], json.dumps(result, indent=2)
    assert result["runs"] > 5 and sum(result["edits"].values()) > 0, result
    assert result["firestore_emptied"] == 1
    assert proc.returncode == 0
