"""What the local stack prints and leaves behind: links that survive any terminal width, the run
table, and ``.local/stack.json`` (the running stack's URLs, read by scripts/mint_connect_link.py)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

STACK_FILE = "stack.json"
# What --reset forgets: the CRM's database, the token vault, the keys, the CLI's state, the stack's URLs.
RESET_FILES = (
    "crm.sqlite",
    "crm.sqlite-wal",
    "crm.sqlite-shm",
    "vault.json",
    "vault.json.key",
    "secrets.json",
    "cli-state.sqlite",
    "cli-state.sqlite-wal",
    "cli-state.sqlite-shm",
    STACK_FILE,
)


def reset_local(local: Path) -> list[str]:
    """Forget the local state (``make run -- --reset``); the names of the files removed. Logs stay."""
    removed = []
    for name in RESET_FILES:
        if (local / name).exists():
            (local / name).unlink()
            removed.append(name)
    return removed


def print_link(console: Console, label: str, url: str) -> None:
    """A label, then the URL on a line of its own, never wrapped or cropped (so it can be copied whole)."""
    console.print(label)
    console.print(f"  {url}", soft_wrap=True, markup=False, highlight=False, crop=False)


def write_stack_file(local: Path, urls: dict[str, str | None]) -> Path:
    """Record the running stack's URLs (no keys: those stay in secrets.json) for the helper scripts."""
    path = local / STACK_FILE
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump({k: v for k, v in urls.items() if v}, out)
    tmp.replace(path)
    return path


def run_table(run: dict[str, Any]) -> Table:
    """A run (or ``first_syncs``' merge of several) as a table: one row per kind."""
    title = run.get("title") or f"crmsync: last run {run.get('run_id', '?')}"
    table = Table(title=f"{title} ({run.get('duration_s', '?')} s)")
    for col in ("kind", "listed google", "listed crm", "→ google", "→ crm", "conflicts", "notes", "errors", "complete"):
        table.add_column(col)
    kinds = run.get("kinds") or {}
    rows = kinds.values() if isinstance(kinds, dict) else kinds
    for rep in rows:
        writes: dict[str, int] = rep.get("writes") or {}
        listed = rep.get("listed") or {}
        table.add_row(
            str(rep.get("kind")),
            str(listed.get("google", "-")),
            str(listed.get("crm", "-")),
            _writes_to(writes, "google").replace("nothing", "-"),
            _writes_to(writes, "crm").replace("nothing", "-"),
            str(len(rep.get("conflicts") or [])),
            str(len(rep.get("notes") or [])),
            str(len(rep.get("errors") or [])),
            "yes" if rep.get("complete") else f"no {rep.get('stopped', '')}",
        )
    return table


def first_syncs(runs: list[dict[str, Any]], after: str | None) -> dict[str, Any]:
    """Each kind's first sync after run ``after`` (the preview), from ``runs`` listed newest first, as one run
    for ``run_table``: the user's "Start syncing" presses may be synced over several runs, and the last of
    them holds only "listed, nothing written" for the kinds synced a run earlier."""
    newer: list[dict[str, Any]] = []
    for run in runs:
        if run.get("run_id") == after:
            break
        newer.append(run)
    kinds: dict[str, dict[str, Any]] = {}
    used: list[dict[str, Any]] = []
    for run in reversed(newer):  # oldest first
        reports = run.get("kinds") or {}
        for rep in reports.values() if isinstance(reports, dict) else reports:
            kind = str(rep.get("kind"))
            if kind not in kinds and not rep.get("awaiting_start"):
                kinds[kind] = rep
                if run not in used:
                    used.append(run)
    ids = ", ".join(str(r.get("run_id", "?")) for r in used)
    seconds = round(sum(float(r.get("duration_s") or 0) for r in used), 1)
    label = "runs" if len(used) > 1 else "run"
    return {"title": f"crmsync: first sync of each kind ({label} {ids})", "duration_s": seconds, "kinds": kinds}


def _writes_to(writes: dict[str, int], side: str) -> str:
    return ", ".join(f"{k.split('.')[1]} {v}" for k, v in writes.items() if k.startswith(side + ".")) or "nothing"


def preview_lines(run: dict[str, Any]) -> list[str]:
    """One line per kind waiting for the user to start it: what its first sync would do (its preview)."""
    kinds = run.get("kinds") or {}
    lines = []
    for rep in kinds.values() if isinstance(kinds, dict) else kinds:
        if not rep.get("awaiting_start"):
            continue
        p = rep.get("preview") or {}
        writes: dict[str, int] = p.get("writes") or {}
        lines.append(
            f"preview {rep.get('kind')}: → google {_writes_to(writes, 'google')}; → crm {_writes_to(writes, 'crm')};"
            f" paired {p.get('paired_count', 0)}; ambiguous {len(p.get('ambiguous') or [])};"
            f" skipped {len(p.get('left_out') or [])}"
        )
    return lines
