"""``/__emulator/`` (the link `make run` prints) is a page listing the control API, not a 404."""

from __future__ import annotations

import pytest
import requests

from infra.google_emulator.server import EmulatorServer

pytestmark = pytest.mark.integration


def test_the_controls_page_lists_every_control_with_what_it_does(emulator: EmulatorServer) -> None:
    base = emulator.base_url
    requests.post(f"{base}/__emulator/accounts", json={"email": "ana@example.com", "name": "Ana"}, timeout=5)
    page = requests.get(f"{base}/__emulator/", timeout=5)
    assert page.status_code == 200
    assert page.headers["Content-Type"].startswith("text/html")
    for path, words in (
        ("/__emulator/reset", "Forget all data"),
        ("/__emulator/faults", ""),
        ("/__emulator/settings", "Current settings"),
    ):
        assert path in page.text and words in page.text
    assert "ana@example.com" in page.text
    assert '"auto_approve"' in page.text
    bare = requests.get(f"{base}/__emulator", timeout=5, allow_redirects=False)
    assert bare.status_code == 302 and bare.headers["Location"] == "/__emulator/"
