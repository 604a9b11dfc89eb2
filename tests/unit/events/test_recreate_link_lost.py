"""A re-create into Google whose link was never saved (the worker died after Google made the event):
the next run finds the event by the CRM id it carries and adopts it. The event was copied from the
CRM record as it was then, not from the link's old base, so the merge must not take the old base for
the event's starting point: a user's edit of the event back to an old value is an edit, and so is a
CRM edit back to the old base. Found by the events state machine under the explore profile
(``test_explore_open_counterexamples``), crm_wins."""

from __future__ import annotations

import pytest

from crmsync.model.kinds import Kind
from crmsync.model.settings import ConflictPolicy, KindSettings
from crmsync.sync.engine import KindReport
from tests.unit.events.machine_events_support import EventWorld
from tests.unit.events.test_state_machine_events import crm_when, google_when
from tests.unit.tasks.machine_tasks_support import WorkerCrash, converge

pytestmark = pytest.mark.unit


def _recreated_then_crashed(policy: ConflictPolicy) -> tuple[EventWorld, str, str]:
    """A synced 14:00 event; Google's deleted while the CRM moved it to 09:00 the next day (keep_edited:
    re-created in Google); the worker dies right after Google made the event. (world, CRM id, new event id)"""
    w = EventWorld(KindSettings(google_group=None, conflict_policy=policy))
    eid = w.google_insert({"summary": "Lunch", **google_when("single", 0, 14)})
    converge(w, lambda _: None)
    [cid] = list(w.crm_records())
    w.google_delete(eid)
    w.crm_update(cid, crm_when("single", 1, 9))
    w.http.crash_after = 1  # the listing, then the batch that inserts the event: then the worker dies
    with pytest.raises(WorkerCrash):
        w.sync()
    [new] = list(w.google_events())
    return w, cid, new


@pytest.mark.parametrize("policy", [ConflictPolicy.CRM_WINS, ConflictPolicy.MOST_RECENT])
def test_a_google_edit_of_a_recreated_event_back_to_the_old_time_survives(policy: ConflictPolicy) -> None:
    w, cid, new = _recreated_then_crashed(policy)
    w.google_patch(new, google_when("single", 0, 14))  # the user moves the new event to the old time
    reports: list[KindReport] = []
    converge(w, reports.append)
    assert w.crm_live()[cid]["start"] == w.google_live()[new]["start"]
    assert w.google_live()[new]["start"]["local"].endswith("T14:00:00"), "the Google user's move was undone"
    assert [c for r in reports for c in r.conflicts] == []  # only Google changed since the re-create
    assert w.links.cursor(Kind.EVENTS).google_recreating.sent == {}  # settled by the complete runs


def test_a_crm_edit_back_to_the_old_base_after_a_lost_recreate_survives() -> None:
    w, cid, new = _recreated_then_crashed(ConflictPolicy.GOOGLE_WINS)
    w.crm_update(cid, crm_when("single", 0, 14))  # the CRM user moves it back to the old time
    reports: list[KindReport] = []
    converge(w, reports.append)
    assert w.crm_live()[cid]["start"] == w.google_live()[new]["start"]
    assert w.crm_live()[cid]["start"]["local"].endswith("T14:00:00"), "the CRM user's move was undone"
    assert [c for r in reports for c in r.conflicts] == []  # only the CRM changed since the re-create
