"""Found by the soak (seed 26): a Google event edited while its CRM record was deleted is kept (the edit
wins over the delete) by re-creating it in the CRM under a new id. When the links were then lost
(Firestore emptied, or Disconnect then reconnect), the next run copied both records again: two
activities and two Google events for one meeting."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from tests.integration.sync.relink_support import Stack, writes_and_conflicts

pytestmark = pytest.mark.integration
ZONE = "Europe/Berlin"


def test_a_pair_recreated_after_a_delete_relinks_without_copies(emulator: Any) -> None:
    stack = Stack(emulator)
    day = (date.today() + timedelta(days=10)).isoformat()
    event = {
        "summary": "Weekly sync",
        "start": {"dateTime": f"{day}T11:00:00", "timeZone": ZONE},
        "end": {"dateTime": f"{day}T11:15:00", "timeZone": ZONE},
        "recurrence": ["RRULE:FREQ=WEEKLY;COUNT=11"],
    }
    gid = stack.google("/calendar/v3/calendars/primary/events", "POST", event)["id"]
    stack.converge()
    [(cid, rec)] = stack.crm_records("activities").items()
    # The Google user renames the meeting while the CRM user deletes it.
    stack.google(f"/calendar/v3/calendars/primary/events/{gid}", "PATCH", {"summary": "Emil-6"})
    stack.crm.delete("activities", cid, rec.version, on_behalf_of=stack.user)
    stack.converge()
    [(recreated, again)] = stack.crm_records("activities").items()
    assert recreated != cid and again.subject == "Emil-6"
    stack.wipe_state()
    for n in range(2):
        writes, conflicts = writes_and_conflicts(stack.run())
        assert writes == {}, f"run {n + 1} after the links were wiped wrote: {writes}"
        assert conflicts == {}, f"run {n + 1} after the links were wiped reported conflicts: {conflicts}"
    assert list(stack.crm_records("activities")) == [recreated]
    items = stack.google("/calendar/v3/calendars/primary/events")["items"]
    assert [e["id"] for e in items if e.get("status") != "cancelled"] == [gid]
