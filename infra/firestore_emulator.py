"""Start and stop the official Cloud Firestore emulator (Java): used by the
local stack, the benchmarks and (through tests/support) the tests.

``start_firestore_emulator()`` picks a free loopback port and returns
("127.0.0.1:PORT", stop); ``new_firestore_client(host)`` returns a client on a
fresh project id, so users of one emulator never see each other's data.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from pathlib import Path

from google.auth.credentials import AnonymousCredentials
from google.cloud import firestore

SDK_ROOTS = (Path("/usr/lib/google-cloud-sdk"), Path("/usr/share/google-cloud-sdk"), Path("/opt/google-cloud-sdk"))
WRAPPER = Path("platform/cloud-firestore-emulator/cloud_firestore_emulator")
INSTALL_HINT = (
    "install it with `apt-get install google-cloud-cli-firestore-emulator openjdk-17-jre-headless` "
    "or `gcloud components install cloud-firestore-emulator` (needs Java 17+)"
)
START_TIMEOUT_S = 60.0


class FirestoreEmulatorError(RuntimeError):
    """The emulator could not be found or started."""


def find_emulator() -> Path:
    """Path of the emulator's jar wrapper script; raises with the install command if missing."""
    if shutil.which(os.environ.get("JAVA", "java")) is None:
        raise FirestoreEmulatorError(f"Java is not on PATH, so the Firestore emulator cannot run: {INSTALL_HINT}")
    roots = list(SDK_ROOTS)
    gcloud = shutil.which("gcloud")
    if gcloud:
        roots.insert(0, Path(gcloud).resolve().parent.parent)
    for root in roots:
        if (root / WRAPPER).is_file():
            return root / WRAPPER
    raise FirestoreEmulatorError(f"the Cloud Firestore emulator is not installed (looked in {roots}): {INSTALL_HINT}")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _answers(host_port: str) -> bool:
    try:
        with urllib.request.urlopen(f"http://{host_port}/", timeout=1) as resp:
            return bool(resp.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def _stop_group(proc: subprocess.Popen[bytes], grace_s: float = 10.0) -> None:
    """Stop the wrapper and its java child (they share the process group we started) and wait for both."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        deadline = time.monotonic() + grace_s
        while time.monotonic() < deadline:
            proc.poll()  # reap the wrapper, else its zombie keeps the group alive
            if not _group_alive(proc.pid):
                return
            time.sleep(0.05)
    proc.wait(timeout=grace_s)


class EmulatorStopper:
    """Calling it stops the emulator (wrapper and java child) and removes its log; ``pid`` is the group id."""

    def __init__(self, proc: subprocess.Popen[bytes], log_path: Path, close_log: Callable[[], None]) -> None:
        self.pid = proc.pid
        self._proc = proc
        self._log_path = log_path
        self._close_log = close_log

    def __call__(self) -> None:
        _stop_group(self._proc)
        self._close_log()
        self._log_path.unlink(missing_ok=True)


def start_firestore_emulator() -> tuple[str, EmulatorStopper]:
    """Start the emulator on a free loopback port; returns ("127.0.0.1:PORT", stop)."""
    wrapper = find_emulator()
    log = tempfile.NamedTemporaryFile(prefix="firestore-emulator-", suffix=".log", delete=False)  # noqa: SIM115
    for _attempt in range(3):  # another process may grab the port between choosing and binding it
        host_port = f"127.0.0.1:{_free_port()}"
        host, port = host_port.split(":")
        proc = subprocess.Popen(
            [str(wrapper), "start", f"--host={host}", f"--port={port}"],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # own process group, so stop() reaches the java child too
        )
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline and proc.poll() is None and not _answers(host_port):
            time.sleep(0.1)
        if proc.poll() is None and _answers(host_port):
            return host_port, EmulatorStopper(proc, Path(log.name), log.close)
        _stop_group(proc)
    log.close()
    output = Path(log.name).read_text(errors="replace")[-2000:]
    raise FirestoreEmulatorError(f"the Firestore emulator did not start within {START_TIMEOUT_S:.0f}s; log:\n{output}")


def reset_project(host_port: str, project: str, patience_s: float = 60.0) -> None:
    """Delete every document of a project in the emulator. The emulator answers 409 while a transaction
    is open (a process killed inside one leaves it open until it times out): tried again until then."""
    url = f"http://{host_port}/emulator/v1/projects/{project}/databases/(default)/documents"
    deadline, pause = time.monotonic() + patience_s, 0.2
    while True:
        try:
            urllib.request.urlopen(urllib.request.Request(url, method="DELETE"), timeout=10).close()
            return
        except urllib.error.HTTPError as err:
            if err.code != 409 or time.monotonic() + pause > deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 5.0)


def new_firestore_client(host_port: str, project: str | None = None) -> firestore.Client:
    """A real firestore.Client talking to the emulator, on a fresh project unless one is given."""
    previous = os.environ.get("FIRESTORE_EMULATOR_HOST")
    os.environ["FIRESTORE_EMULATOR_HOST"] = host_port  # the client reads it once, when constructed
    try:
        return firestore.Client(project=project or f"test-{uuid.uuid4().hex[:12]}", credentials=AnonymousCredentials())  # type: ignore[no-untyped-call]
    finally:
        if previous is None:
            os.environ.pop("FIRESTORE_EMULATOR_HOST", None)
        else:
            os.environ["FIRESTORE_EMULATOR_HOST"] = previous
