"""Guards for the re-create path (a CRM record deleted while its Google record was edited is re-created,
the edit wins over the delete), written while chasing a duplicate the 2-minute soak showed twice in
about eleven runs (seeds 13 and 26, events: two CRM activities and two Google events for one meeting,
one re-created from the other's deleted CRM record). Both scenarios below converge without a twin on
today's code, so they do not explain it; they keep two ways it could arise covered: a re-create whose
reply is lost and whose Google record is edited again before the retry, and the CRM user deleting the
record between the run's listing and its write (the update meets a gone record: a conflict, re-read,
re-created in the same run)."""

from __future__ import annotations

import pytest

from crmsync.errors import TransientError
from tests.support.machines import converge
from tests.unit.sync.machine_support import World, gcanon

pytestmark = pytest.mark.unit


def test_a_recreate_whose_reply_was_lost_is_replayed_not_made_twice() -> None:
    w = World()
    cid = w.crm_create(gcanon({"given": "Anna", "family": "Schmidt"}), tagged=True)
    converge(w, lambda _: None)
    [gid] = list(w.google.records)
    w.crm_delete(cid)
    w.google.edit(gid, given="Anne")  # the edit wins over the delete: re-created in the CRM
    w.flaky.fail.append("bulk_lost")  # the CRM makes the record; its reply never comes back
    with pytest.raises(TransientError):
        w.sync()
    w.google.edit(gid, title="CEO")  # the user edits the Google record again before the next run
    converge(w, lambda _: None)
    live = w.crm_live()
    assert len(live) == 1, f"the re-create was made twice: {live}"
    assert list(w.google.records) == [gid], "the first re-created record was copied back to Google"
    [(canon, _)] = live.values()
    assert (canon["given"], canon["title"]) == ("Anne", "CEO")


def test_a_record_deleted_between_listing_and_write_is_recreated_once() -> None:
    w = World()
    cid = w.crm_create(gcanon({"given": "Anna", "family": "Schmidt"}), tagged=True)
    converge(w, lambda _: None)
    [gid] = list(w.google.records)
    w.google.edit(gid, given="Anne")
    write = w.flaky.bulk

    def user_deletes_first(*args: object, **kw: object) -> object:
        w.flaky.bulk = write
        w.crm_delete(cid)  # the CRM user deletes it after the run listed it, before the run writes
        return write(*args, **kw)

    w.flaky.bulk = user_deletes_first  # type: ignore[method-assign]
    converge(w, lambda _: None)
    live = w.crm_live()
    assert len(live) == 1 and cid not in live, live
    assert list(w.google.records) == [gid]
    [link] = w.all_links()
    assert (link.crm_id, link.google_id) == (next(iter(live)), gid)
