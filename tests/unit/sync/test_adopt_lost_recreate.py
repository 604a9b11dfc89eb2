"""reconcile adopting a Google record an earlier run re-created for a linked pair but died before
linking (found by the events machine, explore profile): the record was copied from the CRM as it
was then, so the side that still holds what was sent is the merge's base, not the link's old base."""

from __future__ import annotations

import pytest

from crmsync.model.link import content_hash
from crmsync.model.settings import ConflictPolicy, KindSettings
from crmsync.sync.plan import Rule
from tests.unit.sync.test_reconcile import BASE, crm_ch, g_ch, run, writes

pytestmark = pytest.mark.unit

CRM_WINS = KindSettings(conflict_policy=ConflictPolicy.CRM_WINS)
SENT = {**BASE, "title": "CTO"}  # the CRM's edit that made the re-create: copied to Google as people/g2


def adopt(crm_title: str, google_title: str, sent: dict[str, str]):  # type: ignore[no-untyped-def]
    google = {**g_ch(None), **g_ch({**BASE, "title": google_title}, rid="people/g2", crm_id_hint="c1")}
    plan = run(crm=crm_ch({**BASE, "title": crm_title}), google=google, settings=CRM_WINS, recreates_sent=sent)
    [step] = plan.steps
    assert (step.rule, step.crm_id, step.google_id) == (Rule.GOOGLE_GONE_EDITED_ADOPT, "c1", "people/g2")
    return plan, step


def test_a_google_edit_back_to_the_old_base_since_the_recreate_wins() -> None:
    plan, step = adopt("CTO", "CFO", {"c1": content_hash(SENT)})
    assert writes(plan) == [("crm", "update", {"title": "CFO"})]
    assert step.conflicts == ()


def test_a_crm_edit_back_to_the_old_base_since_the_recreate_wins() -> None:
    plan, step = adopt("CFO", "CTO", {"c1": content_hash(SENT)})
    assert writes(plan) == [("google", "update", {"title": "CFO"})]
    assert step.conflicts == ()


def test_both_changed_since_the_recreate_is_a_reported_conflict() -> None:
    plan, step = adopt("CEO", "CFO", {"c1": content_hash(SENT)})
    assert writes(plan) == [("google", "update", {"title": "CEO"})]  # crm_wins, and reported
    assert [c.field for c in step.conflicts] == ["title"]


def test_a_record_with_no_recreate_sent_merges_from_the_link_base() -> None:
    # Moved to another calendar we read (no re-create of ours): both descend from the link's base.
    plan, step = adopt("CTO", "CFO", {})
    assert writes(plan) == [("google", "update", {"title": "CTO"})]
    assert step.conflicts == ()
