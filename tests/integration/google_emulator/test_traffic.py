"""The emulator's traffic controls: bytes answered per method (a batch counted once, whole) and the
requests recorded while recording is on. The benchmarks and the field-selection test rely on them."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from tests.integration.google_emulator.test_calendar_support import calendar_service, timed

pytestmark = pytest.mark.integration

WHEN = timed("2026-10-02T09:00:00", "2026-10-02T10:00:00", "UTC")


def _traffic(emulator: Any) -> dict[str, Any]:
    return dict(requests.get(emulator.base_url + "/__emulator/traffic", timeout=10).json())


def test_bytes_answered_shrink_with_fields_and_requests_are_recorded_only_while_on(emulator: Any) -> None:
    svc = calendar_service(emulator)
    svc.events().insert(calendarId="primary", body={"summary": "Review", **WHEN}).execute()
    requests.post(emulator.base_url + "/__emulator/traffic/reset", timeout=10).raise_for_status()
    whole = svc.events().list(calendarId="primary").execute()
    [(account, counted)] = _traffic(emulator)["accounts"].items()
    assert counted["by_method"] == {"calendar.events.list": counted["bytes"]} and counted["bytes"] > 200
    requests.post(emulator.base_url + "/__emulator/traffic/record", json={"on": True}, timeout=10)
    trimmed = svc.events().list(calendarId="primary", fields="items(id)").execute()
    requests.post(emulator.base_url + "/__emulator/traffic/record", json={"on": False}, timeout=10)
    svc.events().list(calendarId="primary").execute()  # not recorded
    after = _traffic(emulator)
    assert trimmed == {"items": [{"id": whole["items"][0]["id"]}]}
    listed = after["accounts"][account]["by_method"]["calendar.events.list"]
    assert counted["bytes"] * 2 < listed < counted["bytes"] * 3  # two whole listings and a trimmed one
    assert after["requests"] == [
        {"account": account, "method": "calendar.events.list", "params": ["alt", "fields"], "body": [], "inner": False}
    ]
