"""A counterexample the contacts state machine found under the explore profile (realistic People lag).

An update of a contact the user deleted in Google, still listed under People's propagation lag,
was reported as a permanent "not found" error instead of being read as the delete it is. Every
adapter (and the fake) now answers "gone on update" as a conflict: the engine re-reads the
record, finds it gone, and the delete rule applies in the same run. Replays the exact steps
Hypothesis printed (kept as a strict xfail until the fix)."""

from __future__ import annotations

from crmsync.model.settings import ConflictPolicy
from tests.unit.sync.machine_support import gcanon
from tests.unit.sync.test_regression_lagging_delete import ANNA, _Drawn
from tests.unit.sync.test_state_machine import RealisticContactSyncMachine


def test_an_update_of_a_contact_deleted_but_still_listed_is_read_as_its_delete() -> None:
    state = RealisticContactSyncMachine()
    state.configure(policy=ConflictPolicy.CRM_WINS)
    state.google_create(canon=gcanon(ANNA))
    state.google_edit(edit=("set", "given", "Anna"), index=0)
    state.google_delete(index=0)
    state.google_create(canon=gcanon(ANNA))
    state.settle()
    state.google_create(canon=gcanon(ANNA))
    state.google_edit(edit=("set", "given", "Anna"), index=0)
    state.conflicting_edit(fname="given", index=0, values=_Drawn(["Anna", "Ben"]))  # type: ignore[arg-type]
    state.conflicting_edit(fname="given", index=0, values=_Drawn(["Ben", "Anna"]))  # type: ignore[arg-type]
    state.google_create(canon=gcanon(ANNA))
    state.google_delete(index=0)
    state.sync()
    state.teardown()
