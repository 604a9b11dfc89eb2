"""Custom fields of activities mapped onto an event's colour and transparency (issue 17): Calendar
takes a fixed set of values there, so the mapping checks a picklist's options, and a string field's
value Calendar cannot hold is held back from Google and named in the run's notes, never sent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from crmsync.crm.custom_fields import REFERENCE_FIELDS
from crmsync.crm.models import Activity
from crmsync.model.custom import CrmField
from crmsync.model.field_mapping import FieldMap, FieldMapping, Target
from crmsync.model.kinds import Kind
from tests.integration.mapping.conftest import Stack

pytestmark = pytest.mark.integration
ACTIVITY = {f.name: f for f in REFERENCE_FIELDS["activities"]}
EVENTS = FieldMapping(
    events=[
        FieldMap(field=ACTIVITY["colour"], target=Target.COLOR),
        FieldMap(field=ACTIVITY["show_as"], target=Target.TRANSPARENCY),
    ]
)


def _event(stack: Stack) -> dict[str, Any]:
    items = stack.calendar.events().list(calendarId="primary").execute().get("items", [])
    return next(e for e in items if e.get("summary") == "Demo")


def _activity(stack: Stack) -> Activity:
    found = stack.record("activities", lambda r: getattr(r, "subject", None) == "Demo")
    assert isinstance(found, Activity)
    return found


def test_a_picklist_mapped_to_the_colour_syncs_both_ways_and_an_invalid_value_is_held_and_named(stack: Stack) -> None:
    day = (datetime.now(UTC) + timedelta(days=2)).date().isoformat()
    stack.crm_server.store.create_many(
        "activities",
        [
            {
                "subject": "Demo",
                "owner_id": "u1",
                "start": f"{day}T10:00:00",
                "end": f"{day}T11:00:00",
                "time_zone": "Europe/Berlin",
                "custom_fields": {"colour": "5", "show_as": "transparent"},
            }
        ],
    )
    stack.run(EVENTS, Kind.EVENTS)
    ev = _event(stack)
    assert (ev.get("colorId"), ev.get("transparency")) == ("5", "transparent")

    # Google edits the colour: the CRM's picklist takes it.
    stack.calendar.events().patch(calendarId="primary", eventId=ev["id"], body={"colorId": "11"}).execute()
    stack.run(EVENTS, Kind.EVENTS)
    assert _activity(stack).custom_fields == {"colour": "11", "show_as": "transparent"}
    assert stack.run(EVENTS, Kind.EVENTS)["writes"] == {}

    # The CRM's string field holds a value Calendar cannot take: never sent, held and named.
    activity = _activity(stack)
    stack.crm.update("activities", activity.id, {"custom_fields": {"show_as": "busy"}}, activity.version)
    report = stack.run(EVENTS, Kind.EVENTS)
    assert _event(stack).get("transparency") == "transparent"
    assert any("custom.show_as 'busy' kept out of Google" in n for n in report["notes"]), report
    assert _activity(stack).custom_fields["show_as"] == "busy"  # the CRM keeps its value
    ev = _event(stack)
    stack.calendar.events().patch(calendarId="primary", eventId=ev["id"], body={"location": "Room 2"}).execute()
    stack.run(EVENTS, Kind.EVENTS)  # another Google edit: the held value is no change of Google's
    assert _activity(stack).custom_fields["show_as"] == "busy" and _activity(stack).location == "Room 2"
    assert _event(stack).get("transparency") == "transparent"
    again = stack.run(EVENTS, Kind.EVENTS)
    assert again["writes"] == {} and not again["conflicts"], again  # no ping-pong

    # A valid CRM value goes through again; emptying it makes the event opaque (Calendar's default).
    activity = _activity(stack)
    stack.crm.update("activities", activity.id, {"custom_fields": {"show_as": None, "colour": "3"}}, activity.version)
    stack.run(EVENTS, Kind.EVENTS)
    ev = _event(stack)
    assert ev.get("colorId") == "3" and ev.get("transparency") in (None, "opaque")
    assert _activity(stack).custom_fields == {"colour": "3"}


@pytest.mark.parametrize(
    ("field", "target", "message"),
    [
        (CrmField(name="tone", label="Tone", type="picklist", options=["1", "red"]), Target.COLOR, "'red'"),
        (CrmField(name="n", label="N", type="number"), Target.COLOR, "picklist or a string"),
        (CrmField(name="s", label="S", type="string", multi=True), Target.TRANSPARENCY, "one value"),
        (ACTIVITY["meeting_code"], Target.VISIBILITY, "built-in private flag"),
    ],
)
def test_the_mapping_refuses_fields_calendar_cannot_hold_there(field: CrmField, target: Target, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        FieldMapping(events=[FieldMap(field=field, target=target)])
