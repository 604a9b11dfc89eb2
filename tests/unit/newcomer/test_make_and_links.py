"""The newcomer path: `make` targets that do what they say, and links printed whole at any width."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from infra.stack_report import print_link, write_stack_file

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parents[3]
URL = "http://127.0.0.1:40123/connect?t=" + "eyJhbGciOiJIUzI1NiJ9." + "A1b2-C3_d4" * 30


@pytest.mark.parametrize("width", [40, 80, 140])
def test_a_printed_link_is_one_unbroken_line_at_any_terminal_width(width: int) -> None:
    out = io.StringIO()
    print_link(Console(file=out, width=width), "Settings page (open it in a browser):", URL)
    lines = out.getvalue().splitlines()
    assert [line.strip() for line in lines if line.strip().startswith("http")] == [URL]


def test_the_stack_file_holds_urls_and_no_keys(tmp_path: Path) -> None:
    path = write_stack_file(tmp_path, {"web": "http://127.0.0.1:1", "crm": "http://127.0.0.1:2", "google": None})
    assert path.read_text() == '{"web": "http://127.0.0.1:1", "crm": "http://127.0.0.1:2"}'
    assert path.stat().st_mode & 0o077 == 0


def _make(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["make", "-n", *args], cwd=cwd, capture_output=True, text=True, timeout=30, check=False)


def test_make_passes_the_words_after_the_double_dash_to_the_command() -> None:
    run = _make("run", "--", "--reset", "--once")
    assert run.returncode == 0, run.stderr
    assert "scripts/run.sh --reset --once" in run.stdout
    bench = _make("bench", "--", "--only", "tasks_bench")
    assert ".venv/bin/python -m bench.run_all --only tasks_bench" in bench.stdout


def test_make_bench_runs_a_module_that_exists_and_lists_every_benchmark() -> None:
    listed = subprocess.run(
        [sys.executable, "-m", "bench.run_all", "--list"], cwd=ROOT, capture_output=True, text=True, check=True
    )
    names = [line.split("\t")[0] for line in listed.stdout.splitlines()]
    on_disk = sorted(p.stem for p in (ROOT / "bench").glob("*_bench.py"))
    assert sorted(names) == on_disk


def _lint_tree(tmp_path: Path, source: str) -> Path:
    """A copy of the lint entry points around one source file (the real .venv, a no-op bootstrap)."""
    for name in ("Makefile", "pyproject.toml"):
        shutil.copy(ROOT / name, tmp_path / name)
    (tmp_path / "scripts").mkdir()
    shutil.copy(ROOT / "scripts" / "lint.sh", tmp_path / "scripts" / "lint.sh")
    (tmp_path / "scripts" / "bootstrap.sh").write_text("#!/bin/sh\nexit 0\n")
    (tmp_path / "scripts" / "bootstrap.sh").chmod(0o755)
    os.symlink(ROOT / ".venv", tmp_path / ".venv")
    for folder in ("functions", "infra", "tests", "bench"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "__init__.py").write_text("")
    (tmp_path / "shared" / "crmsync").mkdir(parents=True)
    (tmp_path / "shared" / "crmsync" / "__init__.py").write_text("")
    (tmp_path / "shared" / "crmsync" / "mod.py").write_text(source)
    return tmp_path


@pytest.mark.parametrize(
    ("source", "finding"),
    [
        ("import os\n\n\ndef f() -> int:\n    return 1\n", "F401"),  # ruff
        ('def f() -> int:\n    return "one"\n', "Incompatible return value"),  # mypy
    ],
)
def test_make_lint_fails_on_a_ruff_or_mypy_finding(tmp_path: Path, source: str, finding: str) -> None:
    tree = _lint_tree(tmp_path, source)
    proc = subprocess.run(["make", "lint"], cwd=tree, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode != 0
    assert finding in proc.stdout + proc.stderr


def test_make_lint_passes_clean_code(tmp_path: Path) -> None:
    tree = _lint_tree(tmp_path, "def f() -> int:\n    return 1\n")
    proc = subprocess.run(["make", "lint"], cwd=tree, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "== ruff" in proc.stdout and "== mypy" in proc.stdout


def test_reset_forgets_the_crm_vault_keys_and_cli_state_but_keeps_logs(tmp_path: Path) -> None:
    from infra.stack_report import reset_local

    for name in ("crm.sqlite", "vault.json", "secrets.json", "cli-state.sqlite", "stack.json", "crm.log"):
        (tmp_path / name).write_text("x")
    assert sorted(reset_local(tmp_path)) == sorted(
        ["crm.sqlite", "vault.json", "secrets.json", "cli-state.sqlite", "stack.json"]
    )
    assert [p.name for p in tmp_path.iterdir()] == ["crm.log"]


def test_the_first_sync_table_shows_each_kinds_first_sync_even_when_the_starts_landed_in_two_runs() -> None:
    """`make run` presses Start for each kind; when the presses are synced over two runs, the last run holds
    only "listed, nothing written" for the kinds synced a run earlier. The table shows each kind's first sync."""
    from infra.stack_report import first_syncs, run_table

    def rep(kind: str, **extra: Any) -> dict[str, Any]:
        return {"kind": kind, "listed": {"google": 0, "crm": 107}, "complete": True, **extra}

    preview = {"run_id": "p", "kinds": {k: rep(k, awaiting_start=True) for k in ("contacts", "events", "tasks")}}
    first = {
        "run_id": "a",
        "duration_s": 2.0,
        "kinds": {
            "contacts": rep("contacts", writes={"google.create": 107}),
            "events": rep("events", awaiting_start=True),
            "tasks": rep("tasks", awaiting_start=True),
        },
    }
    second = {
        "run_id": "b",
        "duration_s": 1.5,
        "kinds": {
            "contacts": rep("contacts"),
            "events": rep("events", writes={"google.create": 60}),
            "tasks": rep("tasks", writes={"google.create": 28}),
        },
    }
    merged = first_syncs([second, first, preview], after="p")  # newest first, as the run log lists them
    out = io.StringIO()
    Console(file=out, width=160).print(run_table(merged))
    text = out.getvalue()
    assert "create 107" in text and "create 60" in text and "create 28" in text
    assert "runs a, b" in text and "3.5 s" in text
