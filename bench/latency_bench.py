"""Latency benchmark (issue 16): how long an edit in Google Calendar takes to appear in the CRM, and an
edit in the CRM to appear in Google Calendar, on the local stack, with push both ways.

Runs ``python -m infra.stack`` (the official Firestore emulator, the Google emulator delivering Calendar
push notifications over HTTP, the reference CRM, the web/fanout/worker functions under
functions-framework, the local task queue with delays and name dedupe), connects the demo user, waits
for the first sync and its push channels, then edits linked events in Google one after another (the
summary, through the Calendar API) and times each until the CRM activity shows it (polled every 0.1 s).
The demo's polling interval is 60 minutes, so every edit that arrives rides on push: the emulator's
message → ``POST /push/calendar`` → a debounced task (5-second window) → the worker's events run. Then
the other way: CRM activities edited through the CRM's API (as a user), the CRM's signed change
notification → ``POST /crm/changes`` → the same debounce → timed until ``events.get`` shows the edit.

Run: ``python -m bench.latency_bench [--edits 100] [--pause 5] [--burst 20]``. After the timed edits, a
burst of ``--burst`` edits made at once shows what debounce does: how many runs they cost, and when the
last one is in the CRM. Prints JSON and writes bench/results/latency.json.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests
from google.oauth2.credentials import Credentials
from googleapiclient.discovery import build

from crmsync.model.kinds import Kind
from crmsync.store.firestore import FirestoreStore
from infra.firestore_emulator import new_firestore_client
from infra.google_emulator.core import SCOPE_CALENDAR
from infra.stack import DEMO_GOOGLE_ACCOUNT

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "latency.json"
TIMEOUT_S = 120.0


def _wait(check: Any, what: str, timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.2)


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))
    return round(ordered[k], 3)


def run(edits: int, local: Path, pause: float, burst_size: int) -> dict[str, Any]:
    state_file = local / "state.json"
    out = (local / "stack.out").open("w")
    cmd = [sys.executable, "-m", "infra.stack", "--tick", "5", "--interval", "60"]
    cmd += ["--local-dir", str(local), "--state-file", str(state_file)]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _wait(lambda: state_file.exists() or proc.poll() is not None, "the local stack", 300)
        if proc.poll() is not None:
            raise SystemExit("the local stack stopped:\n" + (local / "stack.out").read_text()[-3000:])
        state = json.loads(state_file.read_text())
        return _measure(state, edits, pause, burst_size)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        out.close()


def _crm_to_google(
    calendar: Any,
    session: requests.Session,
    crm: str,
    crm_headers: dict[str, str],
    links: list[Any],
    edits: int,
    pause: float,
    stamp: str,
) -> tuple[list[float], int]:
    """``edits`` CRM edits of linked activities (a user's, so the CRM notifies), each timed until Google has it."""
    latencies: list[float] = []
    timeouts = 0
    rng = random.Random(61)
    for i in range(edits):
        time.sleep(rng.uniform(0, pause))
        link = links[(i + 7) % len(links)]
        cal, _, eid = link.google_id.rpartition("/")
        title = f"crm latency {stamp} #{i}"
        version = session.get(f"{crm}/activities/{link.crm_id}", headers=crm_headers, timeout=10).json()["version"]
        started = time.monotonic()
        session.patch(
            f"{crm}/activities/{link.crm_id}",
            json={"subject": title},
            headers={**crm_headers, "If-Match": f'"{version}"'},
            timeout=10,
        ).raise_for_status()
        while calendar.events().get(calendarId=cal or "primary", eventId=eid).execute().get("summary") != title:
            if time.monotonic() - started > TIMEOUT_S:
                timeouts += 1
                break
            time.sleep(0.1)
        else:
            latencies.append(time.monotonic() - started)
    return latencies, timeouts


def _burst(
    store: FirestoreStore,
    cid: str,
    calendar: Any,
    session: requests.Session,
    crm: str,
    crm_headers: dict[str, str],
    links: list[Any],
    size: int,
    stamp: str,
) -> dict[str, Any]:
    """``size`` edits of different events as fast as one client makes them: how many runs they cost and
    when the last one is in the CRM."""
    if size <= 0:
        return {}
    time.sleep(6)  # the sequential phase's windows have closed
    before = sum(1 for r in store.recent_runs(cid, limit=500) if r.get("reason") == "push")
    started = time.monotonic()
    wanted = {}
    for i, link in enumerate(links[:size]):
        cal, _, eid = link.google_id.rpartition("/")
        title = f"burst {stamp} #{i}"
        calendar.events().patch(calendarId=cal or "primary", eventId=eid, body={"summary": title}).execute()
        wanted[link.crm_id] = title
    edited_in = time.monotonic() - started
    while wanted and time.monotonic() - started < TIMEOUT_S:
        for crm_id, title in list(wanted.items()):
            reply = session.get(f"{crm}/activities/{crm_id}", headers=crm_headers, timeout=10)
            if reply.ok and reply.json().get("subject") == title:
                del wanted[crm_id]
        time.sleep(0.1)
    all_in = time.monotonic() - started
    time.sleep(6)  # any run still to come from the burst
    after = sum(1 for r in store.recent_runs(cid, limit=500) if r.get("reason") == "push")
    return {
        "edits": size,
        "edited_in_s": round(edited_in, 3),
        "all_in_crm_after_s": round(all_in, 3),
        "missing": len(wanted),
        "push_runs": after - before,
    }


def _measure(state: dict[str, Any], edits: int, pause: float, burst_size: int) -> dict[str, Any]:
    store = FirestoreStore(new_firestore_client(state["firestore"], "crmsync-local"))
    conn = _wait(
        lambda: (c := store.find_connection_by_crm_user(state["crm_user_id"])) and c.last_run and c,
        "the first sync",
        600,
    )
    channels = _wait(lambda: store.watch_channels(conn.id), "the push channels", 60)
    links = list(store.connection_store(conn.id).all_links(Kind.EVENTS))
    if not links:
        raise SystemExit("the first sync linked no events")
    google, crm = state["google"], state["crm"]
    token = requests.post(
        f"{google}/__emulator/tokens", json={"email": DEMO_GOOGLE_ACCOUNT, "scopes": [SCOPE_CALENDAR]}, timeout=10
    ).json()["access_token"]
    calendar = build(
        "calendar",
        "v3",
        credentials=Credentials(token=token),  # type: ignore[no-untyped-call]
        static_discovery=True,
        client_options={"api_endpoint": google + "/calendar/v3/"},
        cache_discovery=False,
    )
    crm_headers = {"Authorization": f"Bearer {state['keys']['crm_key']}", "X-CRM-User": state["crm_user_id"]}
    session = requests.Session()
    latencies: list[float] = []
    timeouts = 0
    stamp = datetime.now(UTC).strftime("%H%M%S")
    rng = random.Random(16)
    for i in range(edits):
        time.sleep(rng.uniform(0, pause))  # a user's edits do not start on the debounce window's edge
        link = links[i % len(links)]
        cal, _, eid = link.google_id.rpartition("/")
        title = f"latency {stamp} #{i}"
        started = time.monotonic()
        calendar.events().patch(calendarId=cal or "primary", eventId=eid, body={"summary": title}).execute()

        def arrived(crm_id: str = link.crm_id, title: str = title) -> bool:
            reply = session.get(f"{crm}/activities/{crm_id}", headers=crm_headers, timeout=10)
            return reply.ok and reply.json().get("subject") == title

        while not arrived():
            if time.monotonic() - started > TIMEOUT_S:
                timeouts += 1
                break
            time.sleep(0.1)
        else:
            latencies.append(time.monotonic() - started)
    crm_latencies, crm_timeouts = _crm_to_google(calendar, session, crm, crm_headers, links, edits, pause, stamp)
    burst = _burst(store, conn.id, calendar, session, crm, crm_headers, links, burst_size, stamp)
    deliveries = requests.get(f"{google}/__emulator/push/deliveries", timeout=10).json()["deliveries"]
    runs = store.recent_runs(conn.id, limit=500)
    return {
        "benchmark": "latency",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "stack": "local (python -m infra.stack): Firestore emulator, Google emulator, reference CRM, functions-framework",
        "direction": "google_calendar_to_crm (top level) and crm_to_google",
        "edits": edits,
        "arrived": len(latencies),
        "timeouts": timeouts,
        "p50_s": _percentile(latencies, 50) if latencies else None,
        "p95_s": _percentile(latencies, 95) if latencies else None,
        "max_s": round(max(latencies), 3) if latencies else None,
        "mean_s": round(statistics.fmean(latencies), 3) if latencies else None,
        "debounce_window_s": 5.0,
        "pause_between_edits_s": f"uniform(0, {pause}) after the previous edit arrived",
        "polling_interval_min": 60,
        "push_channels": len(channels),
        "linked_events": len(links),
        "push_messages_delivered": sum(1 for d in deliveries if d["status"] in (200, 202, 204)),
        "push_runs_in_log": sum(1 for r in runs if r.get("reason") == "push"),
        "target": {"p50_s": 5, "p95_s": 15},
        "crm_to_google": {
            "edits": edits,
            "arrived": len(crm_latencies),
            "timeouts": crm_timeouts,
            "p50_s": _percentile(crm_latencies, 50) if crm_latencies else None,
            "p95_s": _percentile(crm_latencies, 95) if crm_latencies else None,
            "max_s": round(max(crm_latencies), 3) if crm_latencies else None,
            "mean_s": round(statistics.fmean(crm_latencies), 3) if crm_latencies else None,
            "how": "PATCH /activities/{id} in the reference CRM (as a user, not crmsync) -> its signed webhook "
            "-> POST /crm/changes -> debounced events run; timed until events.get in Google shows it",
        },
        "burst": burst,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--edits", type=int, default=100)
    ap.add_argument("--burst", type=int, default=20, help="then this many edits at once (debounce: runs they cost)")
    ap.add_argument("--pause", type=float, default=5.0, help="random pause before each edit, seconds (0: back to back)")
    ap.add_argument("--no-write", action="store_true", help="print only; do not write bench/results/latency.json")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="crmsync-latency-") as tmp:
        result = run(args.edits, Path(tmp), args.pause, args.burst)
    text = json.dumps(result, indent=2)
    print(text)
    if not args.no_write:
        RESULTS.write_text(text + "\n")
    failed = result["timeouts"] or result["crm_to_google"]["timeouts"] or (result["burst"] or {}).get("missing")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
