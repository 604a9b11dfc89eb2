"""Open counterexamples the contacts state machine found under the explore profile (not yet fixed).

Each replays the exact steps Hypothesis printed. They are strict xfails: the day the engine
keeps the edit, the test passes, strict xfail turns that into a failure, and the marker comes off.
"""

from __future__ import annotations

from typing import Any

import pytest

from crmsync.model.settings import ConflictPolicy
from tests.unit.sync.machine_support import gcanon
from tests.unit.sync.test_state_machine import RealisticContactSyncMachine


class _Drawn:
    """Stands in for Hypothesis's data() object: hands out the values the failing example drew."""

    def __init__(self, *draws: Any) -> None:
        self._draws = list(draws)

    def draw(self, strategy: Any) -> Any:
        return self._draws.pop(0)


ANNA = {"given": "Anna", "family": "Schmidt", "title": None, "emails": [], "phones": []}


@pytest.mark.xfail(
    strict=True,
    reason="open (found 2026-12-02, explore profile, realistic People lag): a Google edit in a "
    "conflict with a CRM record taken out of scope vanishes under crm_wins",
)
def test_a_google_edit_survives_a_conflict_with_a_crm_record_out_of_scope_under_lag() -> None:
    state = RealisticContactSyncMachine()
    state.configure(policy=ConflictPolicy.CRM_WINS)
    state.google_create(canon=gcanon(ANNA))
    state.sync()
    state.crm_toggle_tag(index=0)
    state.google_create(canon=gcanon(ANNA))
    state.conflicting_edit(fname="given", index=0, values=_Drawn(["Anna", "Ben"]))  # type: ignore[arg-type]
    state.sync()
    state.teardown()
