"""What crmsync reads of each Google method: the ``fields`` partial response sent with every request.

Google answers every field of a resource unless the request names the ones it wants
(https://developers.google.com/workspace/calendar/api/guides/performance#partial-response; the
same system parameter on People and Tasks). An event carries links, creators, conference data
and more that the sync never reads, so every request a service built by ``client.build_service``
sends carries the selection of its method from ``FIELDS`` (``SelectingRequest``). People's own
masks (``personFields``, ``readMask``, ``groupFields``) choose the Person fields; ``fields``
trims the envelope around them.

A field read here but missing from its selection is absent at Google (and in the emulator,
which trims the same way), so the sync's tests fail rather than production. Methods whose
answer is empty (deletes) carry none.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from googleapiclient.http import HttpRequest

# An event as calendar.py, calendar_writes.py and tasks_as_events.py read it. Attendees are
# kept whole: an update lays the new list over the attendees as Google holds them (names,
# optional flags, comments, rooms) so nothing the CRM does not model is lost.
EVENT = (
    "id,etag,status,updated,eventType,iCalUID,summary,description,location,start,end,"
    "originalStartTime,recurringEventId,recurrence,attendees,organizer(email,self),reminders,"
    "visibility,transparency,colorId,extendedProperties"
)
TASK = "id,etag,title,notes,status,due,completed,updated,deleted,hidden"

FIELDS: dict[str, str] = {
    # Calendar
    "calendar.events.list": f"nextPageToken,nextSyncToken,timeZone,items({EVENT})",
    "calendar.events.instances": f"nextPageToken,items({EVENT})",
    "calendar.events.get": EVENT,
    "calendar.events.insert": EVENT,
    "calendar.events.patch": EVENT,
    "calendar.events.update": EVENT,
    "calendar.calendarList.list": "nextPageToken,items(id,summary,accessRole)",
    "calendar.calendars.insert": "id",
    "calendar.events.watch": "resourceId,expiration",  # google/calendar_channels.py reads these two
    # Tasks
    "tasks.tasks.list": f"nextPageToken,items({TASK})",
    "tasks.tasks.get": TASK,
    "tasks.tasks.insert": TASK,
    "tasks.tasks.patch": TASK,
    "tasks.tasklists.list": "nextPageToken,items(id,title)",
    "tasks.tasklists.insert": "id",
    # People (the Person fields themselves are chosen by personFields / readMask / groupFields)
    "people.people.connections.list": "connections,nextPageToken,nextSyncToken",
    "people.people.getBatchGet": "responses(httpStatusCode,requestedResourceName,person,status)",
    "people.people.batchCreateContacts": "createdPeople(httpStatusCode,person,status)",
    "people.people.batchUpdateContacts": "updateResult",
    "people.contactGroups.list": "contactGroups,nextPageToken",
    "people.contactGroups.create": "resourceName,name,groupType,metadata",
}


def with_selection(uri: str, method_id: str | None) -> str:
    """``uri`` with the ``fields`` selection of ``method_id`` added (unless it names one already)."""
    selection = FIELDS.get(method_id or "")
    if selection is None:
        return uri
    parts = urlsplit(uri)
    query = parse_qsl(parts.query, keep_blank_values=True)
    if any(k == "fields" for k, _ in query):
        return uri
    return urlunsplit(parts._replace(query=urlencode([*query, ("fields", selection)])))


class SelectingRequest(HttpRequest):  # type: ignore[misc]
    """An ``HttpRequest`` that asks only for what crmsync reads of its method (``FIELDS``)."""

    def __init__(self, http: Any, postproc: Any, uri: str, *args: Any, **kwargs: Any) -> None:
        super().__init__(http, postproc, with_selection(uri, kwargs.get("methodId")), *args, **kwargs)
