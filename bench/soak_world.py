"""The soak's world: real processes (the official Firestore emulator, the Google Workspace
emulator, the reference CRM), one connection between a CRM user and a Google account, and the
two users editing their records the way people do — over HTTP, like any client would."""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from crmsync.crm.rest import RestCrmConnector
from crmsync.model.settings import KindSettings, SyncSettings
from crmsync.model.state import Connection
from crmsync.services.run_sync import GRANT_SCOPES
from crmsync.store.firestore import FirestoreStore
from infra.firestore_emulator import new_firestore_client, reset_project, start_firestore_emulator

ROOT = Path(__file__).resolve().parents[1]
PROJECT = "crmsync-soak"
ACCOUNT = "soak@gmail.example"
CRM_USER = "user1@crm.example"
CLIENT = "crmsync-soak"
CONNECTION = "soak-conn"


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_http(url: str, proc: subprocess.Popen[bytes], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args!r} exited during start-up")
        try:
            requests.get(url, timeout=2)
            return
        except requests.RequestException:
            time.sleep(0.2)
    raise RuntimeError(f"nothing answered at {url} within {timeout:.0f}s")


@dataclass
class Processes:
    """The servers, each its own process group; the CRM can be killed and restarted on its database."""

    work: Path
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    stop_firestore: Any = None
    firestore: str = ""
    google: str = ""
    crm: str = ""
    crm_key: str = field(default_factory=lambda: secrets.token_urlsafe(16))

    def start(self) -> None:
        from infra.crm.seed import seed

        self.firestore, self.stop_firestore = start_firestore_emulator()
        port = free_port()
        self.procs["google"] = self._spawn("google", ["-m", "infra.google_emulator", "--port", str(port)])
        self.google = f"http://127.0.0.1:{port}"
        wait_http(self.google + "/__emulator/settings", self.procs["google"])
        seed(self.work / "crm.sqlite", contacts=40, activities=30, tasks=20, users=2)
        self.crm_port = free_port()
        self.crm = f"http://127.0.0.1:{self.crm_port}"
        self.start_crm()

    def start_crm(self) -> None:
        db = str(self.work / "crm.sqlite")
        args = ["-m", "infra.crm", "--db", db, "--port", str(self.crm_port), f"--api-key={self.crm_key}"]
        self.procs["crm"] = self._spawn("crm", args)
        wait_http(self.crm + "/health", self.procs["crm"])

    def kill_crm(self) -> None:
        """SIGKILL, like an instance dying mid-request."""
        proc = self.procs["crm"]
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()

    def _spawn(self, name: str, args: list[str]) -> subprocess.Popen[bytes]:
        log = (self.work / f"{name}.log").open("ab")
        return subprocess.Popen(
            [sys.executable, *args], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
        if self.stop_firestore is not None:
            self.stop_firestore()

    def env(self) -> dict[str, str]:
        """The configuration a sync process runs with (as the local stack's worker)."""
        return {
            **os.environ,
            "PYTHONPATH": f"{ROOT / 'shared'}{os.pathsep}{ROOT}",
            "FIRESTORE_EMULATOR_HOST": self.firestore,
            "OAUTHLIB_INSECURE_TRANSPORT": "1",
            "OAUTHLIB_RELAX_TOKEN_SCOPE": "1",
            "CRMSYNC_PROJECT": PROJECT,
            "CRMSYNC_STORE": "firestore",
            "CRMSYNC_VAULT": "local_file",
            "CRMSYNC_LOCAL_VAULT_PATH": str(self.work / "vault.json"),
            "CRMSYNC_BASE_URL": "http://127.0.0.1:9",
            "CRMSYNC_OAUTH_CLIENT_ID": CLIENT,
            "CRMSYNC_OAUTH_CLIENT_SECRET": "soak-secret",
            "CRMSYNC_LINK_SIGNING_KEY": "c29hay1saW5rLWtleS0wMTIzNDU2Nzg5MDEyMzQ1Njc4OQ==",
            "CRMSYNC_SESSION_KEY": "soak-session-key-0123456789abcdef0123456789",
            "CRMSYNC_ADMIN_API_KEY": "soak-admin-key-0123456789abcdef0123456789",
            "CRMSYNC_CRM_BASE_URL": self.crm,
            "CRMSYNC_CRM_API_KEY": self.crm_key,
            "CRMSYNC_GOOGLE_AUTH_URI": self.google + "/o/oauth2/auth",
            "CRMSYNC_GOOGLE_TOKEN_URI": self.google + "/token",
            "CRMSYNC_GOOGLE_REVOKE_URI": self.google + "/revoke",
            "CRMSYNC_GOOGLE_API_BASE": self.google,
            "CRMSYNC_LOG_LEVEL": "WARNING",
        }

    def store(self) -> FirestoreStore:
        return FirestoreStore(new_firestore_client(self.firestore, PROJECT))

    def empty_firestore(self) -> None:
        reset_project(self.firestore, PROJECT)


def connect(procs: Processes) -> str:
    """A Google grant, its refresh token in the vault, and the connection document (what the
    OAuth callback writes); again after Firestore was emptied (a restore without the data)."""
    from crmsync.bootstrap import bootstrap
    from crmsync.config import Config
    from crmsync.queue.memory import MemoryTaskQueue

    grant = requests.post(
        procs.google + "/__emulator/grants",
        json={"email": ACCOUNT, "client_id": CLIENT, "scopes": list(GRANT_SCOPES.values())},
        timeout=30,
    )
    grant.raise_for_status()
    app = bootstrap(Config.from_env(procs.env()), store=procs.store(), queue=MemoryTaskQueue())
    user = RestCrmConnector(procs.crm, procs.crm_key).user_by_email(CRM_USER)
    assert user is not None, "the seeded CRM has no user1"
    from datetime import UTC, datetime

    conn = Connection(
        id=CONNECTION,
        crm_user_id=user.id,
        google_subject="soak-subject",
        google_email=ACCOUNT,
        scopes=list(GRANT_SCOPES.values()),
        settings=SyncSettings(contacts=KindSettings(google_group=None, max_delete_floor=1000)),
        created_at=datetime.now(UTC),
    )
    # The soak measures convergence under edits and faults, not the preview before a first sync: its
    # admin turns that rule off (stored in Firestore, so set again after Firestore was emptied), and
    # every run syncs. Pressing Start instead would gate each kind again after the emptying.
    app.store.put_global_config({"preview_first_sync": False})
    app.store.put_connection(conn)
    app.vault.put(CONNECTION, str(grant.json()["refresh_token"]))
    return user.id


@dataclass
class SyncProcess:
    """One sync run in its own process (the worker's task handler)."""

    proc: subprocess.Popen[bytes]

    def finish(self, kill_after: float | None) -> dict[str, Any]:
        """Wait for it (SIGKILLed after ``kill_after`` seconds if still running): what it
        answered, or {"killed": True}."""
        try:
            out, _ = self.proc.communicate(timeout=kill_after if kill_after is not None else 900)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
            return {"killed": True}
        lines = [ln for ln in out.decode(errors="replace").splitlines() if ln.startswith("{")]
        return dict(json.loads(lines[-1])) if lines else {"outcome": "crashed", "code": self.proc.returncode}


def start_sync(procs: Processes, task: str) -> SyncProcess:
    return SyncProcess(
        subprocess.Popen(
            [sys.executable, "-m", "bench.soak_worker", CONNECTION, task],
            cwd=ROOT,
            env=procs.env(),
            stdout=subprocess.PIPE,
            stderr=(procs.work / "sync.log").open("ab"),
            start_new_session=True,
        )
    )
