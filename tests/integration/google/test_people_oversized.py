"""A contact Google refuses as too large is skipped with a plain reason; its neighbours are written.

Google publishes no per-contact size for People (nor the text of the refusal); the emulator assumes
128 KiB of contact values (infra/google_emulator/people_limits.py, ``people.max_contact_bytes``)."""

from __future__ import annotations

from typing import Any

import pytest

from crmsync.ports import WriteOp
from tests.integration.google.people_support import CRM_GROUP, adapter, create_op, seed_contacts

pytestmark = pytest.mark.integration

LIMIT = 4000


def _raw(i: int, notes: str | None = None) -> dict[str, Any]:
    return {"given": f"New{i}", "family": "Person", "notes": notes}


def test_a_create_google_refuses_as_too_large_is_skipped_with_a_plain_reason(emulator: Any) -> None:
    emulator.state.extras["people.max_contact_bytes"] = LIMIT
    side = adapter(emulator)
    ops = [create_op("crm-0", _raw(0)), create_op("crm-1", _raw(1, "long " * 2000)), create_op("crm-2", _raw(2))]
    results = side.create(ops)
    assert [r.ok for r in results] == [True, False, True]
    big = results[1]
    assert not big.conflict and not big.transient
    assert big.error is not None and big.error.startswith("Google Contacts refused this contact as too large"), big
    assert "shorten" in big.error


def test_an_update_google_refuses_as_too_large_is_skipped_with_a_plain_reason(emulator: Any) -> None:
    emulator.state.extras["people.max_contact_bytes"] = LIMIT
    names = seed_contacts(emulator, 3)
    side = adapter(emulator, group_resource_name=CRM_GROUP)
    seen = side.get(names)
    ops = []
    for i, rid in enumerate(names):
        notes = "long " * 2000 if i == 1 else "short"
        ops.append(WriteOp(rid, rid, {"notes": notes}, {**seen[rid].canon, "notes": notes}, seen[rid].version))
    results = side.update(ops)
    assert [r.ok for r in results] == [True, False, True]
    big = results[1]
    assert not big.conflict and not big.transient
    assert big.error is not None and big.error.startswith("Google Contacts refused this contact as too large"), big
