"""Shared plumbing of the benchmarks: servers in child processes (so the
benchmark process measures only the sync), emulator stats, peak RSS."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[1]


def peak_rss_mib() -> float:
    """Peak resident set size of this process so far, in MiB."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


@contextmanager
def child_server(args: list[str], env: dict[str, str] | None = None) -> Iterator[str]:
    """Run ``python -m <args>`` that prints its base URL on the first line; yield the URL."""
    proc = subprocess.Popen(
        [sys.executable, "-m", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, **(env or {})},
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        url = next((w for w in line.split() if w.startswith("http")), "")
        if not url:
            raise RuntimeError(f"{args[0]} did not print its URL (got {line!r})")
        yield url.rstrip("/")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def emulator_calls(base: str, account: str) -> dict[str, int]:
    """The emulator's request counters for one account (inner batch calls included)."""
    body = requests.get(base + "/__emulator/stats", params={"account": account}, timeout=30).json()
    acct = body["accounts"].get(account, {})
    calls: dict[str, int] = dict(acct.get("calls", {}))
    if acct.get("batch"):
        calls["batch (outer HTTP requests)"] = int(acct["batch"])
    return calls


def diff(after: dict[str, int], before: dict[str, int]) -> dict[str, int]:
    """Counters that moved between two snapshots."""
    return {k: v - before.get(k, 0) for k, v in sorted(after.items()) if v != before.get(k, 0)}


class Timer:
    def __enter__(self) -> Timer:
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.seconds = round(time.perf_counter() - self.start, 3)
