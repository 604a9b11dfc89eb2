"""A counterexample the contacts state machine found under the explore profile (plain, crm_wins;
found 2026-12-02 by the harness helper in its third explore round, also on 17a5e8a, before that
helper's changes), replayed step by step; a plain regression test since the fix (sync/back_in_scope.py).

Traced: a synced pair con_0001 / people/c1. The CRM user removes the sync tag and the Google user
takes the contact out of the group before the next run: that run parks the link on both sides
(nothing deleted, nothing written). Both come back into scope: the next run lists both (unchanged in
content), writes nothing, and the link stays parked on both sides. The Google user then deletes c1:
the run drops the parked link and neither applies the delete rule to con_0001 nor re-creates it in
Google. con_0001 stays in scope, unlinked, and no later run lists it again (it does not change):
"unlinked CRM contacts: {'con_0001'}". A pair whose two sides are both back in scope should be
active again (unparked), so that a later delete goes by the delete rule.

Where: ``Reconcile._linked`` returned early when both sides are State.SAME (content equal to the base),
before the parked branch, so no step cleared the parked flags of a pair whose two sides came back
unchanged (a pair with a side edited meanwhile takes the merge path instead). Now such a pair gets a
``Rule.BACK_IN_SCOPE`` step that writes nothing and stores both sides as seen.
"""

from __future__ import annotations

from crmsync.model.settings import ConflictPolicy
from tests.unit.sync.machine_support import TIER, gcanon
from tests.unit.sync.test_state_machine import ContactSyncMachine

ANNA = {"given": "Anna", "family": "Schmidt", "title": None, TIER: None, "emails": [], "phones": []}


def test_a_pair_back_in_scope_on_both_sides_goes_by_the_delete_rule_again() -> None:
    state = ContactSyncMachine()
    state.configure(policy=ConflictPolicy.CRM_WINS)
    state.crm_create(canon=gcanon(ANNA), tagged=True)
    state.settle()
    state.crm_toggle_tag(index=0)
    state.google_toggle_group(index=0)
    state.settle()
    state.crm_toggle_tag(index=0)
    state.google_toggle_group(index=0)
    state.settle()
    state.google_delete(index=0)
    state.teardown()
