"""Issue 13 §1: links gone (Disconnect then reconnect, a lost or restored Firestore, the CLI's
memory store run twice), the next runs match every record again without a base. They change no
data no one edited: zero writes on either side and zero conflicts; records that a first-sync key
cannot tell apart are never copied, and are reported by name."""

from __future__ import annotations

import random
from typing import Any

import pytest

from crmsync.model.kinds import Kind
from tests.integration.sync.relink_support import Stack, seed, writes_and_conflicts

pytestmark = pytest.mark.integration


def test_relinking_a_converged_sync_without_a_base_writes_nothing(emulator: Any) -> None:
    stack = Stack(emulator)
    seed(stack, random.Random(13), per_kind=200)
    stack.converge()
    linked = {k: stack.links(k) for k in Kind}
    crm_before = {k: stack.crm_records(k) for k in ("contacts", "activities", "tasks")}
    stack.wipe_state()
    for n in range(2):
        summary = stack.run()
        writes, conflicts = writes_and_conflicts(summary)
        assert writes == {}, f"run {n + 1} after the links were wiped wrote: {writes}"
        assert conflicts == {}, f"run {n + 1} after the links were wiped reported conflicts: {conflicts}"
    assert {k: stack.links(k) for k in Kind} == linked
    assert {k: stack.crm_records(k) for k in ("contacts", "activities", "tasks")} == crm_before
