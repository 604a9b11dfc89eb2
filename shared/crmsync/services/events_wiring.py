"""How calendar events are wired for a run: Google Calendar on one side, the
CRM's activities shown in calendar on the other; writes paced under the
per-user Calendar quota."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from ..crm.events_side import CrmEvents
from ..google.calendar import GoogleCalendar
from ..google.client import build_service
from ..google.pacing import Pacer
from ..model.cursor import Cursor
from ..model.event import match_keys
from ..model.field_mapping import MappedFields
from ..model.state import Connection
from ..ports import OpCounter
from .watch_channels import keep_channels
from .wiring import KindWiring, RunDeps

# Calendar allows 600 requests/min per user (a batch counts every inner call); leave headroom
# for the listing and re-reads of the same minute.
PER_USER_WRITES_PER_MINUTE = 500


def wire_events(conn: Connection, credentials: Any, deps: RunDeps, cursor: Cursor, counter: OpCounter) -> KindWiring:
    """The event sides of ``conn``; the dedicated calendar's id is kept in the cursor."""
    options = conn.settings.event_options
    mapped = MappedFields(deps.field_mapping.events)
    service = build_service("calendar", credentials, deps.google.endpoint)
    google = GoogleCalendar(
        service,
        deps.google.endpoint.batch_uri("calendar"),
        connection_id=conn.id,
        me=conn.google_email,
        options=options,
        counter=counter,
        calendar_id=cursor.place.calendar,
        former_calendars=cursor.place.written_calendars,
        pacer=Pacer(PER_USER_WRITES_PER_MINUTE),
        clock=deps.clock,
        mapped=mapped,
    )
    crm = CrmEvents(
        deps.crm, conn.id, conn.crm_user_id, conn.settings.events, options, counter, deps.clock, mapped=mapped
    )

    def remember(after: Cursor) -> bool:
        before = place = after.place
        calendar = google.write_calendar
        if calendar not in place.written_calendars:  # every calendar ever written to keeps being read
            place = place.model_copy(update={"written_calendars": (*place.written_calendars, calendar)})
        if options.calendar == "dedicated" and place.calendar != calendar:
            place = place.model_copy(update={"calendar": calendar})
        after.place = place
        if deps.push is not None:  # one push channel per calendar read, renewed in time
            keep_channels(deps.store, google.service, counter, conn.id, google.calendars(), deps.push, deps.clock())
        return place != before

    # Events enter the sync window by the passing of time alone: a daily full listing brings them in.
    return KindWiring(crm, google, match_keys, remember, google.budget, full_every=timedelta(days=1))
