"""The emulator helper starts a working emulator and stops it with its java child."""

from __future__ import annotations

import time
import urllib.request

import pytest

from tests.support.firestore_emulator import _group_alive, new_firestore_client, reset_project, start_firestore_emulator

pytestmark = pytest.mark.integration


def test_start_serves_firestore_and_stop_ends_the_whole_process_group() -> None:
    started = time.monotonic()
    host_port, stop = start_firestore_emulator()
    pgid = stop.pid
    startup_s = time.monotonic() - started
    try:
        client = new_firestore_client(host_port)
        client.document("probe/one").set({"ok": True})
        assert client.document("probe/one").get().to_dict() == {"ok": True}
        reset_project(host_port, client.project)
        assert not client.document("probe/one").get().exists
        client.close()  # type: ignore[no-untyped-call]
    finally:
        stop()
    assert startup_s < 30
    assert not _group_alive(pgid)
    with pytest.raises(OSError):
        urllib.request.urlopen(f"http://{host_port}/", timeout=1)
