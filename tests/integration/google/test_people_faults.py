"""Transient failures through the emulator's fault and quota controls: retried, then raised."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import pytest

from crmsync.google.errors import Transient
from crmsync.ports import WriteOp
from tests.integration.google.people_support import CRM_GROUP, adapter, create_op, seed_contacts, server_calls

pytestmark = pytest.mark.integration


def control(emulator: Any, path: str, body: dict[str, Any]) -> dict[str, Any]:
    """POST to the emulator's control API."""
    req = urllib.request.Request(
        f"{emulator.base_url}/__emulator/{path}",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read())  # type: ignore[no-any-return]


def test_429_then_success(emulator) -> None:
    seed_contacts(emulator, 5)
    control(emulator, "faults", {"method": "people.people.connections.list", "sequence": ["429", "503", "ok"]})
    slept: list[float] = []
    side = adapter(emulator, slept=slept, group_resource_name=CRM_GROUP)
    listing = side.list_changes(None)
    assert len(listing.changes) == 5
    assert side.counter.counts == {"people.connections.list": 3}
    assert len(slept) == 2


def test_quota_429_retry_after_is_honoured(emulator) -> None:
    control(emulator, "quotas", {"limits": {"people.people.batchCreateContacts": 1}})
    slept: list[float] = []
    side = adapter(emulator, slept=slept, group_resource_name=None, group_name=None)
    ops = [create_op(f"crm-{i}", {"given": f"Q{i}"}) for i in range(250)]
    # apply_plan hands at most 200 per call; two calls here hit the 1-per-minute quota on the second.
    first = side.create(ops[:200])
    second = side.create(ops[200:])
    assert all(r.ok for r in first + second)
    assert len(slept) == 1
    assert 1 <= slept[0] <= 60
    assert side.counter.counts == {"people.batchCreateContacts": 3}


def test_dropped_connection_then_success(emulator) -> None:
    names = seed_contacts(emulator, 3)
    # httplib2 itself re-sends once after a dropped connection; the third drop reaches our retry.
    control(emulator, "faults", {"method": "people.people.getBatchGet", "sequence": ["drop", "drop", "ok"]})
    side = adapter(emulator, group_resource_name=CRM_GROUP)
    got = side.get(names)
    assert set(got) == set(names)
    assert side.counter.counts == {"people.getBatchGet": 2}


def test_persistent_5xx_raises_transient_after_the_attempts(emulator) -> None:
    control(emulator, "faults", {"method": "people.people.batchDeleteContacts", "probability": 1, "errors": ["500"]})
    names = seed_contacts(emulator, 2)
    slept: list[float] = []
    side = adapter(emulator, slept=slept, group_resource_name=CRM_GROUP, attempts=3)
    with pytest.raises(Transient):
        side.delete([WriteOp(n, n, {}, {}) for n in names])
    assert side.counter.counts == {"people.batchDeleteContacts": 3}
    assert len(slept) == 2
    assert server_calls(emulator).get("people.people.batchDeleteContacts", 0) == 3
