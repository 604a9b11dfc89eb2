"""Start and stop `python -m infra.stack` for the end-to-end tests, and poll with a timeout."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import pytest

ROOT = Path(__file__).resolve().parents[2]
T = TypeVar("T")


@contextmanager
def local_stack(local: Path, *extra: str) -> Iterator[dict[str, Any]]:
    """The whole local stack in ``local`` (free ports; ``extra``: more `infra.stack` options); yields its
    state file's contents (URLs, keys, the demo user) and stops every process of it on the way out."""
    state = local / "state.json"
    out = (local / "stack.out").open("w")
    args = [sys.executable, "-m", "infra.stack", "--tick", "2", "--local-dir", str(local), "--state-file", str(state)]
    proc = subprocess.Popen([*args, *extra], cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 180
        while not state.exists():
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail("the local stack did not come up:\n" + (local / "stack.out").read_text()[-3000:])
            time.sleep(0.5)
        yield {**json.loads(state.read_text()), "_state_file": str(state), "_session": proc.pid}
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        out.close()


def wait_for(predicate: Callable[[], T], what: str, timeout: float = 120, every: float = 1) -> T:
    """The first truthy value of ``predicate`` (polled every ``every`` seconds); fails after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    pytest.fail(f"timed out waiting for {what}")
