"""Issue 13, the soak's duplicate (seed 26: two CRM activities and two Google events for one meeting).
A record deleted in the CRM while its Google copy was edited is re-created in the CRM under a new id
(the edit wins over the delete). The Google copy still carried the deleted record's CRM id, so once
the links were gone (Firestore emptied, or Disconnect then reconnect) nothing tied it to the record
re-created from it: the next run took it for a Google record of its own, unless the first-sync key
still happened to match, and copied each record to the other side. A re-create now gives the Google
copy the new CRM id, so the pair relinks by it whatever was edited since."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from tests.integration.sync.relink_support import Stack

pytestmark = pytest.mark.integration
ZONE = "Europe/Berlin"
EVENTS = "/calendar/v3/calendars/primary/events"


def _live_events(stack: Stack) -> list[dict[str, Any]]:
    return [e for e in stack.google(EVENTS)["items"] if e.get("status") != "cancelled"]


def test_a_meeting_recreated_in_the_crm_relinks_after_the_links_are_lost(emulator: Any) -> None:
    stack = Stack(emulator)
    day = (date.today() + timedelta(days=10)).isoformat()
    cid = stack.crm_create(
        "activities", {"subject": "Kickoff", "start": f"{day}T11:00:00", "end": f"{day}T11:30:00", "time_zone": ZONE}
    )
    stack.converge()
    [gid] = [e["id"] for e in _live_events(stack)]
    stack.google(f"{EVENTS}/{gid}", "PATCH", {"summary": "Emil-6"})  # renamed in Google ...
    rec = stack.crm_records("activities")[cid]
    stack.crm.delete("activities", cid, rec.version, on_behalf_of=stack.user)  # ... deleted in the CRM
    stack.converge()
    [recreated] = stack.crm_records("activities")
    assert recreated != cid
    stack.wipe_state()  # Firestore emptied, or Disconnect then reconnect
    stack.google(f"{EVENTS}/{gid}", "PATCH", {"summary": "Emil-7"})  # the first-sync key no longer matches
    stack.converge()
    activities = stack.crm_records("activities")
    assert list(activities) == [recreated], f"the meeting is in the CRM more than once: {activities}"
    events = _live_events(stack)
    assert [e["id"] for e in events] == [gid], f"the meeting is in Google more than once: {events}"
    assert activities[recreated].subject == "Emil-7"


def test_a_contact_recreated_in_the_crm_relinks_after_the_links_are_lost(emulator: Any) -> None:
    stack = Stack(emulator)
    cid = stack.crm_create(
        "contacts",
        {"given_name": "Anna", "family_name": "Schmidt", "emails": [{"value": "a@x.example", "type": "work"}]},
    )
    stack.converge()
    [gid] = [p["resourceName"] for p in _people(stack)]

    def edit(**fields: Any) -> None:
        current = stack.google(f"/v1/{gid}?personFields=names,emailAddresses")
        mask = ",".join(fields)
        stack.google(f"/v1/{gid}:updateContact?updatePersonFields={mask}", "PATCH", {**current, **fields})

    edit(names=[{"givenName": "Anne", "familyName": "Schmidt"}])  # edited in Google ...
    rec = stack.crm_records("contacts")[cid]
    stack.crm.delete("contacts", cid, rec.version, on_behalf_of=stack.user)  # ... deleted in the CRM
    stack.converge()
    [recreated] = stack.crm_records("contacts")
    assert recreated != cid
    stack.wipe_state()
    edit(emailAddresses=[{"value": "anne@x.example", "type": "work"}])  # the first-sync key no longer matches
    stack.converge()
    contacts = stack.crm_records("contacts")
    assert list(contacts) == [recreated], f"the contact is in the CRM more than once: {contacts}"
    people = _people(stack)
    assert [p["resourceName"] for p in people] == [gid], f"the contact is in Google more than once: {people}"
    assert contacts[recreated].given_name == "Anne"


def _people(stack: Stack) -> list[dict[str, Any]]:
    return list(stack.google("/v1/people/me/connections?personFields=names,clientData").get("connections") or [])


@pytest.mark.xfail(
    strict=True,
    reason="open (issue 13 §1, found with the soak's duplicate): a record made in Google carries no CRM id, so "
    "once the links are lost its pair relinks by the first-sync key alone; an edit of that key meanwhile "
    "(a rename) copies each record to the other side. Giving every such Google record our CRM id costs a "
    "Google write per record created in the CRM",
)
def test_a_meeting_made_in_google_relinks_after_the_links_are_lost_and_a_rename(emulator: Any) -> None:
    stack = Stack(emulator)
    day = (date.today() + timedelta(days=10)).isoformat()
    event = {
        "summary": "Kickoff",
        "start": {"dateTime": f"{day}T11:00:00", "timeZone": ZONE},
        "end": {"dateTime": f"{day}T11:30:00", "timeZone": ZONE},
    }
    gid = stack.google(EVENTS, "POST", event)["id"]
    stack.converge()
    stack.wipe_state()
    stack.google(f"{EVENTS}/{gid}", "PATCH", {"summary": "Emil-7"})
    stack.converge()
    assert len(stack.crm_records("activities")) == 1
    assert [e["id"] for e in _live_events(stack)] == [gid]
