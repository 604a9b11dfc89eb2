"""Issue 13, the soak's duplicate (seed 26: two CRM activities and two Google events for one meeting).
A pair whose CRM record was deleted while its Google record was edited is re-created in the CRM
under a new id; the Google record kept the deleted record's id. Once the links were gone (Firestore
emptied, Disconnect then reconnect), nothing tied it to the record re-created from it, and the next
run copied each to the other side. The Google record now carries its pair's current CRM id."""

from __future__ import annotations

import pytest

from crmsync.model.kinds import Kind
from crmsync.model.settings import KindSettings, SideRules, UpdateRule
from tests.support.machines import converge
from tests.unit.sync.machine_support import TAG, World, gcanon

pytestmark = pytest.mark.unit


def _recreated(w: World) -> tuple[str, str]:
    """A converged pair, then its CRM record deleted while its Google record is edited: re-created
    in the CRM. (Google id, the re-created CRM id.)"""
    cid = w.crm_create(gcanon({"given": "Anna", "family": "Schmidt"}), tagged=True)
    converge(w, lambda _: None)
    [gid] = list(w.google.records)
    w.crm_delete(cid)
    w.google.edit(gid, given="Anne")
    converge(w, lambda _: None)
    [link] = w.all_links()
    assert link.google_id == gid and link.crm_id != cid
    return gid, link.crm_id


def _links_lost_then_synced(w: World, gid: str) -> None:
    w.store.delete_connection_data("conn1")  # Firestore emptied, or Disconnect then reconnect
    w.google.edit(gid, title="CEO")  # edited before the next run
    converge(w, lambda _: None)


def test_a_pair_recreated_in_the_crm_relinks_after_its_links_are_lost() -> None:
    w = World()
    gid, recreated = _recreated(w)
    assert w.google.records[gid].hint == recreated, "the Google record still carries the deleted record's id"
    _links_lost_then_synced(w, gid)
    live = w.crm_live()
    assert list(live) == [recreated], f"the CRM holds the record more than once: {list(live)}"
    assert list(w.google.records) == [gid], f"Google holds the record more than once: {list(w.google.records)}"
    [link] = w.all_links()
    assert (link.crm_id, link.google_id) == (recreated, gid)
    # Relinked without a base, the edit made meanwhile is a conflict the policy decides; both sides agree.
    assert live[recreated][0] == w.google.records[gid].canon


def test_a_google_record_left_with_an_old_crm_id_is_given_the_current_one() -> None:
    """A pair re-created before the fix: its Google record carries the deleted record's id. The next
    listing of that record (any edit, or a full listing) writes the current id into it."""
    w = World()
    gid, recreated = _recreated(w)
    w.google.records[gid].hint = "con_deleted"  # as a re-create left it before the fix
    w.google.expire_tokens()  # a full listing: the pair is unchanged on both sides
    report = w.sync()
    assert report.writes == {"google.update": 1}
    assert w.google.records[gid].hint == recreated
    assert w.sync().writes == {}
    _links_lost_then_synced(w, gid)
    assert list(w.crm_live()) == [recreated] and list(w.google.records) == [gid]


def test_a_lost_recreate_reply_still_gives_the_google_record_the_new_id() -> None:
    """The re-create's reply is lost: the retry replays it, and the Google record gets the id the
    replay returns (the record the first attempt made)."""
    w = World()
    cid = w.crm_create(gcanon({"given": "Anna", "family": "Schmidt"}), tagged=True)
    converge(w, lambda _: None)
    [gid] = list(w.google.records)
    w.crm_delete(cid)
    w.google.edit(gid, given="Anne")
    w.flaky.fail.append("bulk_lost")
    with pytest.raises(Exception):  # noqa: B017 - the run stops on the lost reply (a transient error)
        w.sync()
    converge(w, lambda _: None)
    [link] = w.all_links()
    assert list(w.crm_live()) == [link.crm_id]
    assert w.google.records[gid].hint == link.crm_id
    assert list(w.links.all_links(Kind.CONTACTS)) == [link]


def test_a_google_copy_created_anew_in_the_crm_carries_the_new_id() -> None:
    """The links are lost and the CRM record deleted meanwhile: the Google copy, edited or not, is
    created anew in the CRM (keep_edited). It is given the new record's id in the same run, so losing
    the links once more does not copy it again."""
    w = World()
    cid = w.crm_create(gcanon({"given": "Anna", "family": "Schmidt"}), tagged=True)
    converge(w, lambda _: None)
    [gid] = list(w.google.records)
    w.store.delete_connection_data("conn1")
    w.crm_delete(cid)
    w.sync()  # the Google copy points at a deleted record: created anew in the CRM
    [link] = w.all_links()
    assert link.crm_id != cid and w.google.records[gid].hint == link.crm_id
    _links_lost_then_synced(w, gid)
    assert list(w.crm_live()) == [link.crm_id] and list(w.google.records) == [gid]


def test_no_google_write_for_the_id_when_google_records_are_never_updated() -> None:
    """The admin's 'never update Google records' holds for the CRM id too: the re-create happens, the
    Google record is left as it is (and keeps the old id)."""
    settings = KindSettings(google_group=None, crm_tag=TAG, google=SideRules(update=UpdateRule.NEVER))
    w = World(settings=settings)
    cid = w.crm_create(gcanon({"given": "Anna", "family": "Schmidt"}), tagged=True)
    converge(w, lambda _: None)
    [gid] = list(w.google.records)
    w.crm_delete(cid)
    w.google.edit(gid, given="Anne")
    before = w.google.records[gid].version
    converge(w, lambda _: None)
    [link] = w.all_links()
    assert link.crm_id != cid and w.google.records[gid].hint == cid
    assert w.google.records[gid].version == before and w.google.calls.get("update", 0) == 0
