"""The shared lost-edit oracle (tests/support/oracle.py) on hand-made end states: what it reports
and what it excuses, for scalar fields and for elements of multi-valued fields."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from crmsync.model.kinds import Kind
from crmsync.sync.report import KindReport
from tests.support.oracle import EditLog

pytestmark = pytest.mark.unit
FIELDS = ("title", "emails")


def world(*pairs: tuple[str, str], base: dict[str, Any] | None = None) -> Any:
    """A machine's world with these links (each agreed on ``base``) and nothing else."""
    links = [SimpleNamespace(crm_id=c, google_id=g, base=base or {}) for c, g in pairs]
    return SimpleNamespace(links=SimpleNamespace(ever=list(pairs)), all_links=lambda: links)


def mail(value: str, kind: str) -> dict[str, str]:
    return {"value": value, "type": kind}


def test_an_edit_held_on_one_side_only_is_lost_and_one_held_on_both_is_not() -> None:
    log = EditLog(FIELDS)
    log.edited(("google", "g1"), {"title": "A"}, {"title": "B"})
    log.observe(0, None, world(("c1", "g1")))
    assert log.lost_edits([("c1", "g1")], {"c1": {"title": "B"}}, {"g1": {"title": "B"}}) == []
    [problem] = log.lost_edits([("c1", "g1")], {"c1": {"title": "A"}}, {"g1": {"title": "B"}})
    assert "field='title'" in problem and "lost" in problem


def test_a_later_edit_supersedes_an_earlier_one_of_the_same_field() -> None:
    log = EditLog(FIELDS)
    log.edited(("google", "g1"), {"title": "A"}, {"title": "B"})
    log.edited(("crm", "c1"), {"title": "A"}, {"title": "C"})
    log.observe(0, None, world(("c1", "g1")))
    assert log.lost_edits([("c1", "g1")], {"c1": {"title": "C"}}, {"g1": {"title": "C"}}) == []


def test_a_reported_conflict_excuses_the_losing_edit_only_from_the_run_it_was_reported_in() -> None:
    log = EditLog(FIELDS)
    log.runs = 2
    log.edited(("google", "g1"), {"title": "A"}, {"title": "B"})
    end = {"c1": {"title": "C"}}, {"g1": {"title": "C"}}
    report = KindReport(Kind.CONTACTS, conflicts=[{"crm_id": "c1", "google_id": "g1", "field": "title"}])
    log.observe(1, report, world(("c1", "g1")))  # a conflict of a run before the edit
    assert len(log.lost_edits([("c1", "g1")], *end)) == 1
    log.observe(2, report, world(("c1", "g1")))
    assert log.lost_edits([("c1", "g1")], *end) == []


def test_elements_of_a_multi_valued_field_are_edits_of_their_own() -> None:
    log = EditLog(FIELDS)
    log.edited(("crm", "c1"), {"emails": [mail("a@x", "work")]}, {"emails": [mail("a@x", "home"), mail("b@x", "work")]})
    log.observe(0, None, world(("c1", "g1")))
    held = {"emails": [mail("a@x", "home"), mail("b@x", "work")]}
    assert log.lost_edits([("c1", "g1")], {"c1": held}, {"g1": held}) == []
    retyped_back = {"emails": [mail("a@x", "work"), mail("b@x", "work")]}
    [problem] = log.lost_edits([("c1", "g1")], {"c1": held}, {"g1": retyped_back})
    assert "key='a@x'" in problem


def test_an_edit_of_a_record_the_user_deleted_afterwards_is_excused_and_one_with_no_removal_vanishes() -> None:
    log = EditLog(FIELDS)
    log.edited(("google", "g1"), {"title": "A"}, {"title": "B"})
    log.observe(0, None, world(("c1", "g1")))
    [problem] = log.lost_edits([], {}, {})
    assert "vanished" in problem
    log.removed(("crm", "c1"), {"title": "B"})  # the counterpart the edit reached, deleted by the user
    assert log.lost_edits([], {}, {}) == []


def test_a_field_cleared_on_a_record_whose_link_is_gone_may_come_back_from_a_first_match() -> None:
    # Contacts (first_match_keeps_union): the pair c1/g1 was linked; g1 left the sync and the link
    # went; the user clears c1's title; c1 is then matched with a new g2 holding a title (a first
    # merge, no base: the union). On a linked record the same clear is an edit the sync must keep.
    end = {"c1": {"title": "CEO"}}, {"g2": {"title": "CEO"}}
    for union, lost in ((True, 0), (False, 1)):
        log = EditLog(FIELDS, first_match_keeps_union=union)
        log.observe(0, None, world(("c1", "g1"), base={"title": "CEO"}))
        log.observe(1, None, world())
        log.edited(("crm", "c1"), {"title": "CEO"}, {"title": None})
        log.observe(2, None, world(("c1", "g2")))
        assert len(log.lost_edits([("c1", "g2")], *end)) == lost
    log = EditLog(FIELDS, first_match_keeps_union=True)
    log.observe(0, None, world(("c1", "g1"), base={"title": "CEO"}))
    log.edited(("crm", "c1"), {"title": "CEO"}, {"title": None})
    log.observe(1, None, world(("c1", "g1"), base={"title": "CEO"}))
    [problem] = log.lost_edits([("c1", "g1")], {"c1": {"title": "CEO"}}, {"g1": {"title": "CEO"}})
    assert "field='title'" in problem and "lost" in problem
