"""Fixtures of the scheduling integration tests: the Cloud Tasks emulator and the Firestore emulator."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from google.cloud import tasks_v2
from google.cloud.tasks_v2.services.cloud_tasks.transports import CloudTasksGrpcTransport

from tests.support.firestore_emulator import firestore_emulator_host

__all__ = ["firestore_emulator_host"]
ROOT = Path(__file__).resolve().parents[3]
SCRIPT = ROOT / "scripts" / "tasks_emulator.sh"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def tasks_client(host: str) -> tasks_v2.CloudTasksClient:
    """A real CloudTasksClient over an insecure channel to the emulator."""
    return tasks_v2.CloudTasksClient(transport=CloudTasksGrpcTransport(channel=grpc.insecure_channel(host)))


@pytest.fixture(scope="session")
def tasks_emulator_host() -> Iterator[str]:
    """gcloud-tasks-emulator (own virtualenv, see scripts/tasks_emulator.sh) on a free port; one per xdist worker."""
    subprocess.run([str(SCRIPT), "install"], check=True, timeout=300)
    port = _free_port()
    log = tempfile.NamedTemporaryFile(prefix="tasks-emulator-", suffix=".log", delete=False)  # noqa: SIM115
    proc = subprocess.Popen(
        [str(SCRIPT), "start", str(port), "-r", "3"],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    host = f"127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    client = tasks_client(host)
    while True:
        try:
            client.list_queues(parent="projects/probe/locations/here", timeout=2)
            break
        except Exception:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError(f"the Cloud Tasks emulator did not start; see {log.name}") from None
            time.sleep(0.2)
    yield host
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)
    log.close()
    os.unlink(log.name)
