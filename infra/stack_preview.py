"""The demo user's first sync on the local stack, as a new user has it: the first run of each kind
is a preview (``AdminConfig.preview_first_sync``, on by default) that writes nothing; the stack prints
one line per kind of what would happen, then presses "Start syncing <kind>" for each, the way the
settings page's JSON API takes it (the user's session cookie and CSRF token), and waits for the sync."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

import requests


class DemoError(RuntimeError):
    """The demo user's first sync could not be started."""


def waiting_kinds(run: dict[str, Any]) -> list[str]:
    """The kinds of a run that wait for the user to start them (a preview, nothing written)."""
    kinds = run.get("kinds") or {}
    reports = kinds.values() if isinstance(kinds, dict) else kinds
    return [str(rep["kind"]) for rep in reports if rep.get("awaiting_start")]


def start_kinds(web: str, session: requests.Session, kinds: list[str]) -> None:
    """Press "Start syncing <kind>" for each kind, as the signed-in user (JSON API, CSRF header)."""
    page = session.get(f"{web}/settings", headers={"Accept": "text/html"}, timeout=60)  # the token is on the page
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    if page.status_code != 200 or csrf is None:
        raise DemoError(f"the demo user's settings page did not open ({page.status_code})")
    for kind in kinds:
        resp = session.post(
            f"{web}/preview/{kind}/start",
            headers={"Accept": "application/json", "X-CSRF-Token": csrf.group(1)},
            timeout=60,
        )
        if resp.status_code != 202:
            raise DemoError(f"starting {kind} was refused ({resp.status_code}): {resp.text[:300]}")


def wait_for_run(
    last_run: Callable[[], dict[str, Any] | None], after: str | None, ready: Callable[[dict[str, Any]], bool]
) -> dict[str, Any] | None:
    """The first run recorded after run ``after`` that is ``ready`` (10 minutes at most)."""
    started = time.monotonic()
    while time.monotonic() - started < 600:
        run = last_run()
        if run and run.get("run_id") != after and ready(run):
            return run
        time.sleep(1)
    return None
