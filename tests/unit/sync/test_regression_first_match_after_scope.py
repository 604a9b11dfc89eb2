"""A counterexample the contacts state machine found under the explore profile (plain and realistic,
crm_wins), also on the code before issue 13's first-sync changes.

A CRM copy leaves scope (its Google record is deleted, the link goes), comes back, and the user
clears its title; a new Google contact with the same e-mail and a title is created meanwhile. The
two are matched as on a first sync (no base: their values add up), so the title comes back — to a
state-based sync a record without a title is one that never had it. The oracle excused that only
for an element removed from a record never linked; it now excuses a cleared field (scalar or
element) of any record the sync holds no link for, as first_match_keeps_union says.

The reschedule helper's replay of the mirror case (a Google contact's title cleared while its link
was gone, matched to a new CRM record; kept as a strict xfail in test_explore_open_counterexamples.py)
is the second test."""

from __future__ import annotations

from typing import Any

from crmsync.model.settings import ConflictPolicy
from tests.unit.sync.machine_support import TIER, gcanon
from tests.unit.sync.test_state_machine import ContactSyncMachine

ANNA_CEO = {"given": "Anna", "family": "Schmidt", "title": "CEO", TIER: None,
            "emails": [{"value": "a@g.example", "type": "work"}], "phones": []}  # fmt: skip


def test_a_field_cleared_on_an_unlinked_record_may_come_back_from_its_first_match() -> None:
    state = ContactSyncMachine()
    state.configure(policy=ConflictPolicy.CRM_WINS)
    state.google_create(canon=gcanon(ANNA_CEO))
    state.settle()
    state.crm_toggle_tag(index=0)
    state.settle()
    state.google_create(canon=gcanon(ANNA_CEO))
    state.crm_toggle_tag(index=0)
    state.crm_edit(edit=("set", "title", None), index=0)
    state.teardown()


def _anna_in_crm() -> dict[str, Any]:
    return gcanon({**ANNA_CEO, "emails": [{"value": "a@crm.example", "type": "work"}]})


def test_a_google_edit_of_a_contact_out_of_its_group_matched_again_survives() -> None:
    state = ContactSyncMachine()
    state.configure(policy=ConflictPolicy.CRM_WINS)
    state.crm_create(canon=_anna_in_crm(), tagged=True)
    state.settle()
    state.google_toggle_group(index=0)
    state.settle()
    state.crm_create(canon=_anna_in_crm(), tagged=True)
    state.google_edit(edit=("set", "title", None), index=0)
    state.settle()
    state.teardown()
