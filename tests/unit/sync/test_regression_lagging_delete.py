"""Regression: a contacts state machine counterexample (explore profile, realistic People lag).

The CRM record leaves scope while the user edits its Google contact; People's listing still shows
the contact as it was, so the delete rule deleted the edit. Deletes are now conditional on the
version the engine read (People: an etag probe by ``getBatchGet``), so the pair is re-read and
kept. Replays the exact steps Hypothesis printed."""

from __future__ import annotations

from typing import Any

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


def test_regression_a_google_edit_survives_a_conflict_with_a_crm_record_out_of_scope_under_lag() -> None:
    state = RealisticContactSyncMachine()
    state.configure(policy=ConflictPolicy.CRM_WINS)
    state.google_create(canon=gcanon(ANNA))
    state.sync()
    state.crm_toggle_tag(index=0)
    state.google_create(canon=gcanon(ANNA))
    state.conflicting_edit(fname="given", index=0, values=_Drawn(["Anna", "Ben"]))  # type: ignore[arg-type]
    state.sync()
    state.teardown()
