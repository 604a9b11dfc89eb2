"""The local stack (``make run``): every part of crmsync on loopback.

Starts the official Firestore emulator, the Google Workspace emulator, the
reference CRM (seeded with demo data and every tricky record), the three
Cloud Functions under functions-framework (web, fanout, worker; the local
in-process queue delivers tasks to the worker), and an in-process scheduler
that ticks the fan-out. Connects a demo CRM user through the real OAuth flow,
shows the preview of each kind's first sync, starts each kind as the user
would, runs the first sync, prints a summary and the settings URL, keeps syncing,
and stops every child process on Ctrl-C.

With ``CRMSYNC_OAUTH_CLIENT_ID`` and ``CRMSYNC_OAUTH_CLIENT_SECRET`` of a real
Google OAuth client in the environment (and ``--real-google``), the same
stack syncs with a real Google account: open the printed connect link.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests
from rich.console import Console

from infra.stack_preview import DemoError, start_kinds, wait_for_run, waiting_kinds
from infra.stack_report import first_syncs, preview_lines, print_link, reset_local, run_table, write_stack_file
from infra.stack_secrets import local_secrets, write_private

ROOT = Path(__file__).resolve().parents[1]
LOCAL = ROOT / ".local"
DEMO_CRM_USER = "user1@crm.example"
# The admin's default rule: the Google account's e-mail must be the CRM user's (the emulator has any account).
DEMO_GOOGLE_ACCOUNT = DEMO_CRM_USER
console = Console(width=None if sys.stdout.isatty() else 140)


class StackError(RuntimeError):
    """The stack cannot start; the message says what to do."""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Children:
    """Child processes, each in its own process group, all stopped together."""

    def __init__(self) -> None:
        self.procs: list[tuple[str, subprocess.Popen[str]]] = []
        self.stoppers: list[Any] = []

    def start(self, name: str, args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[str]:
        handle = log.open("w")
        proc = subprocess.Popen(
            args, cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT, text=True, start_new_session=True
        )
        self.procs.append((name, proc))
        return proc

    def stop(self) -> None:
        for _name, proc in reversed(self.procs):
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                continue
        deadline = time.monotonic() + 10
        for _name, proc in self.procs:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        for stop in reversed(self.stoppers):
            stop()


def _wait_http(url: str, what: str, proc: subprocess.Popen[str] | None, log: Path | None, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            tail = log.read_text(errors="replace")[-3000:] if log else ""
            raise StackError(f"{what} exited during start-up:\n{tail}")
        try:
            requests.get(url, timeout=2)
            return
        except requests.RequestException:
            time.sleep(0.2)
    raise StackError(f"{what} did not answer at {url} within {timeout:.0f}s")


def _seed_crm(db: Path) -> None:
    if db.exists():
        return
    from infra.crm.seed import seed

    console.print("[dim]seeding the reference CRM with demo data and every tricky record…[/dim]")
    seed(db, contacts=200, activities=100, tasks=50, users=3)


def _connect_demo(web: str, google: str | None, link_key: str, crm_user_id: str) -> requests.Session:
    """The real connect flow: signed link -> our confirmation page -> Google consent (auto-approved by
    the emulator) -> OAuth callback -> settings page. Returns the browser-like session (with its cookie)."""
    import re

    from crmsync.security.links import mint_connect_token

    token = mint_connect_token(link_key.encode(), crm_user_id, timedelta(minutes=15), datetime.now(UTC))
    session = requests.Session()
    if google is not None:
        requests.post(
            google + "/__emulator/settings",
            json={"auto_approve": True, "default_account": DEMO_GOOGLE_ACCOUNT},
            timeout=10,
        ).raise_for_status()
    confirm = session.get(f"{web}/connect", params={"t": token}, timeout=60)
    csrf = re.search(r'name="csrf" value="([^"]+)"', confirm.text)
    if confirm.status_code != 200 or csrf is None:
        raise StackError(
            f"the connect link did not open the confirmation page ({confirm.status_code}): {confirm.text[:500]}"
        )
    resp = session.post(f"{web}/connect/confirm", data={"csrf": csrf.group(1)}, timeout=60)
    if google is not None:
        requests.post(google + "/__emulator/settings", json={"auto_approve": False}, timeout=10).raise_for_status()
    if resp.status_code != 200 or "/settings" not in resp.url:
        raise StackError(f"connecting the demo user ended at {resp.url} ({resp.status_code}): {resp.text[:500]}")
    return session


def _last_run(store: Any, crm_user_id: str) -> dict[str, Any] | None:
    """The connection's last run summary, read from Firestore like the worker wrote it."""
    conn = store.find_connection_by_crm_user(crm_user_id)
    return conn.last_run if conn is not None else None


def _tick(fanout: str, internal: str) -> dict[str, Any]:
    resp = requests.post(fanout, json={}, headers={"X-CrmSync-Internal": internal}, timeout=60)
    return dict(resp.json()) if resp.headers.get("Content-Type", "").startswith("application/json") else {}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="make run", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--tick", type=float, default=15.0, help="seconds between scheduler ticks (default 15)")
    ap.add_argument("--interval", type=int, default=1, help="sync interval of the demo connection, minutes (default 1)")
    ap.add_argument(
        "--real-google", action="store_true", help="use real Google with the OAuth client in the environment"
    )
    ap.add_argument("--once", action="store_true", help="stop after the first sync (for scripted checks)")
    ap.add_argument("--reset", action="store_true", help="forget the local CRM database, vault and keys first")
    ap.add_argument("--local-dir", type=Path, default=None, help="where state and logs live (default .local/)")
    ap.add_argument("--skip-demo", action="store_true", help="do not connect the demo user (a browser will)")
    ap.add_argument("--state-file", type=Path, help="write the stack's URLs and keys here once it is up (tests)")
    args = ap.parse_args(argv)
    global LOCAL  # one stack per process
    LOCAL = (args.local_dir or LOCAL).resolve()
    LOCAL.mkdir(parents=True, exist_ok=True)
    if args.reset:
        reset_local(LOCAL)
        console.print(f"[dim]--reset: forgot the local CRM database, vault, keys and CLI state in {LOCAL}[/dim]")
    children = Children()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        return _run(args, children, stop)
    except (StackError, DemoError) as err:
        console.print(f"[red]crmsync stack: {err}[/red]")
        return 2
    except KeyboardInterrupt:
        return 0
    finally:
        console.print("[dim]stopping every child process…[/dim]")
        children.stop()


def _run(args: argparse.Namespace, children: Children, stop: threading.Event) -> int:
    from infra.firestore_emulator import FirestoreEmulatorError, start_firestore_emulator

    keys = local_secrets(LOCAL)
    py = sys.executable
    try:
        firestore_host, stop_firestore = start_firestore_emulator()
    except FirestoreEmulatorError as err:
        raise StackError(str(err)) from err
    children.stoppers.append(stop_firestore)
    console.print(f"Firestore emulator   {firestore_host}")

    google: str | None = None
    client_id, client_secret = "crmsync-local", keys["client_secret"]
    if args.real_google:
        client_id = os.environ.get("CRMSYNC_OAUTH_CLIENT_ID", "")
        client_secret = os.environ.get("CRMSYNC_OAUTH_CLIENT_SECRET", "")
        if not client_id or not client_secret:
            raise StackError(
                "--real-google needs CRMSYNC_OAUTH_CLIENT_ID and CRMSYNC_OAUTH_CLIENT_SECRET of a web OAuth client"
            )
    else:
        port = _free_port()
        log = LOCAL / "google-emulator.log"
        # --allow-http-push: Calendar push channels may deliver to the web function on http://127.0.0.1.
        cmd = [py, "-m", "infra.google_emulator", "--port", str(port), "--allow-http-push"]
        proc = children.start("google", cmd, dict(os.environ), log)
        google = f"http://127.0.0.1:{port}"
        _wait_http(google + "/__emulator/settings", "the Google emulator", proc, log)
        console.print(f"Google emulator      {google}")

    db = LOCAL / "crm.sqlite"
    _seed_crm(db)
    crm_port = _free_port()
    ports = {name: _free_port() for name in ("web", "fanout", "worker")}
    web, fanout, worker = (f"http://127.0.0.1:{ports[n]}" for n in ("web", "fanout", "worker"))
    log = LOCAL / "crm.log"
    # The CRM tells crmsync about its changes (signed webhooks to the web function's /crm/changes).
    hooks = {"CRM_WEBHOOK_URL": web + "/crm/changes", "CRM_WEBHOOK_SECRET": keys["webhook_secret"]}
    proc = children.start(
        "crm",
        [py, "-m", "infra.crm", "--db", str(db), "--port", str(crm_port)],
        {**os.environ, "CRM_API_KEY": keys["crm_key"], **hooks},  # not on the command line: `ps` shows them
        log,
    )
    crm = f"http://127.0.0.1:{crm_port}"
    _wait_http(crm + "/health", "the reference CRM", proc, log)
    console.print(f"Reference CRM        {crm}")

    env = {
        **os.environ,
        "PYTHONPATH": f"{ROOT / 'shared'}{os.pathsep}{ROOT}",
        "FIRESTORE_EMULATOR_HOST": firestore_host,
        "OAUTHLIB_INSECURE_TRANSPORT": "1",
        "OAUTHLIB_RELAX_TOKEN_SCOPE": "1",
        "CRMSYNC_PROJECT": "crmsync-local",
        "CRMSYNC_STORE": "firestore",
        "CRMSYNC_VAULT": "local_file",
        "CRMSYNC_LOCAL_VAULT_PATH": str(LOCAL / "vault.json"),
        "CRMSYNC_BASE_URL": web,
        "CRMSYNC_OAUTH_CLIENT_ID": client_id,
        "CRMSYNC_OAUTH_CLIENT_SECRET": client_secret,
        "CRMSYNC_LINK_SIGNING_KEY": keys["link_key"],
        "CRMSYNC_SESSION_KEY": keys["session_key"],
        "CRMSYNC_ADMIN_API_KEY": keys["admin_key"],
        "CRMSYNC_CRM_WEBHOOK_SECRET": keys["webhook_secret"],
        "CRMSYNC_CRM_BASE_URL": crm,
        "CRMSYNC_CRM_API_KEY": keys["crm_key"],
        "CRMSYNC_INTERNAL_SECRET": keys["internal"],
        "CRMSYNC_WORKER_URL": worker,
        "CRMSYNC_LOG_LEVEL": os.environ.get("CRMSYNC_LOG_LEVEL", "INFO"),
    }
    if google is not None:
        env |= {
            "CRMSYNC_GOOGLE_AUTH_URI": google + "/o/oauth2/auth",
            "CRMSYNC_GOOGLE_TOKEN_URI": google + "/token",
            "CRMSYNC_GOOGLE_REVOKE_URI": google + "/revoke",
            "CRMSYNC_GOOGLE_API_BASE": google,
            "CRMSYNC_CALENDAR_PUSH": "on",  # Google (the emulator) may call the local web function
        }
    ff = str(Path(py).parent / "functions-framework")
    for name in ("worker", "fanout", "web"):
        log = LOCAL / f"function-{name}.log"
        proc = children.start(
            name,
            [
                ff,
                "--target",
                name,
                "--source",
                str(ROOT / "functions" / "main.py"),
                "--host",
                "127.0.0.1",
                "--port",
                str(ports[name]),
            ],
            env,
            log,
        )
        _wait_http(f"http://127.0.0.1:{ports[name]}/", f"the {name} function", proc, log)
    console.print(f"Functions            web {web}  fanout {fanout}  worker {worker}")

    from crmsync.crm.rest import RestCrmConnector

    user = RestCrmConnector(crm, keys["crm_key"]).user_by_email(DEMO_CRM_USER)
    if user is None:
        raise StackError(f"the demo CRM user {DEMO_CRM_USER} is missing; run `make run -- --reset`")
    write_stack_file(LOCAL, {"web": web, "crm": crm, "google": google, "fanout": fanout, "worker": worker})
    if args.state_file:
        state = {
            "web": web,
            "fanout": fanout,
            "worker": worker,
            "google": google,
            "crm": crm,
            "firestore": firestore_host,
            "crm_user_id": user.id,
            "keys": keys,
            "local": str(LOCAL),
        }
        write_private(args.state_file, json.dumps(state))
    session: requests.Session | None = None
    if args.real_google or args.skip_demo:
        from crmsync.security.links import mint_connect_token

        link = mint_connect_token(keys["link_key"].encode(), user.id, timedelta(minutes=15), datetime.now(UTC))
        print_link(
            console,
            "\nOpen this link in a browser within 15 minutes to connect a Google account:",
            f"{web}/connect?t={link}",
        )
    else:
        session = _connect_demo(web, google, keys["link_key"], user.id)
        console.print(f"Connected CRM user {user.email} ({user.id}) to Google account {DEMO_GOOGLE_ACCOUNT}")
        # Server-to-server settings API (the CRM's bearer key on behalf of the user).
        api = {"Authorization": f"Bearer {keys['crm_key']}", "X-CRM-User": user.id, "Accept": "application/json"}
        current = requests.get(f"{web}/settings", headers=api, timeout=30)
        current.raise_for_status()
        settings = current.json()["settings"]
        settings["interval_minutes"] = args.interval
        requests.put(f"{web}/settings", json=settings, headers=api, timeout=30).raise_for_status()
        # The admin's polling bounds let the demo poll as often as asked (adaptive polling starts there).
        admin = {"Authorization": f"Bearer {keys['admin_key']}", "Accept": "application/json"}
        rules = requests.get(f"{web}/admin/config", headers=admin, timeout=30)
        rules.raise_for_status()
        config = rules.json()
        slowest = max(args.interval, config["polling"]["slowest_minutes"])
        config["polling"] = {"fastest_minutes": args.interval, "slowest_minutes": slowest}
        requests.put(f"{web}/admin/config", json=config, headers=admin, timeout=30).raise_for_status()

    from crmsync.store.firestore import FirestoreStore
    from infra.firestore_emulator import new_firestore_client

    store = FirestoreStore(new_firestore_client(firestore_host, "crmsync-local"))
    console.print("[dim]first sync…[/dim]")
    started = time.monotonic()
    _tick(fanout, keys["internal"])
    run: dict[str, Any] | None = None
    while session is not None and time.monotonic() - started < 600:
        run = _last_run(store, user.id)
        if run:
            break
        time.sleep(1)
    if run and session is not None and waiting_kinds(run):
        # A new user's first run of each kind is a preview: show it, then start each kind as they would.
        for line in preview_lines(run):
            console.print(line, soft_wrap=True)
        start_kinds(web, session, waiting_kinds(run))
        console.print(f"[dim]started {', '.join(waiting_kinds(run))} (Start syncing); first sync…[/dim]")
        preview_id = run.get("run_id")
        run = wait_for_run(lambda: _last_run(store, user.id), preview_id, lambda r: not waiting_kinds(r))
        conn = store.find_connection_by_crm_user(user.id)
        if run and conn is not None:  # the starts may be synced over two runs: show each kind's first sync
            run = first_syncs(store.recent_runs(conn.id, 20), after=preview_id)
    if run:
        console.print(run_table(run))
    from crmsync.security.links import mint_settings_token

    link = mint_settings_token(keys["link_key"].encode(), user.id, timedelta(minutes=15), datetime.now(UTC))
    print_link(
        console,
        "\nSettings page (a settings link: open it within 15 minutes; it signs you in):",
        f"{web}/settings?t={link}",
    )
    console.print(f"Google emulator controls: {google}/__emulator/   CRM: {crm}/openapi.json   logs: {LOCAL}/")
    if args.once:
        return 0 if run else 1
    console.print(
        f"[dim]syncing every {args.interval} min (scheduler tick {args.tick:.0f} s); Ctrl-C stops everything[/dim]"
    )
    last = (run or {}).get("run_id")
    while not stop.wait(args.tick):
        _tick(fanout, keys["internal"])
        latest = _last_run(store, user.id) or {}
        if latest.get("run_id") and latest.get("run_id") != last:
            last = latest["run_id"]
            console.print(run_table(latest))
    return 0


if __name__ == "__main__":
    sys.exit(main())
