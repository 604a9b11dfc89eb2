"""events.move and events.import: an event changing calendars, and a private copy of someone's event.

move: the event (a whole series with its stored exceptions) leaves the source
calendar as cancelled versions (so source sync listings report deletions) and
is stored in the destination under the same id and iCalUID, with the
destination as organizer (Google: "changes an event's organizer"). Single
instances are refused with 400 cannotChangeOrganizerOfInstance.

import: keyed by iCalUID within the calendar. A first import stores a new
event (the organizer is kept as given); importing an iCalUID the calendar
already holds replaces that copy (same id) instead of adding another, reviving
it if it was deleted. Google's reference does not spell the re-import out;
this follows what clients report (e.g. insanum/gcalcli#599). A ``sequence``
below the stored one is ignored rather than refused. Non-default event types
become ``default`` (Google's documented, deprecated behaviour).
"""

from __future__ import annotations

from typing import Any

from . import calendar_ops as ops
from .calendar_model import clean_fields, html_link, invalid, span_of
from .calendar_series import find_instance
from .calendar_store import Cal
from .core import ApiError

_INSTANCE = "Cannot change the organizer of an instance."


def _live(ev: dict[str, Any] | None) -> bool:
    return ev is not None and ev.get("status") != "cancelled"


def _rehome(ev: dict[str, Any], dst: ops.Write) -> dict[str, Any]:
    """``ev`` as the destination calendar stores it: its organizer, link and attendee flags."""
    out = {**ev, "organizer": dst.organizer, "htmlLink": html_link(ev["id"], dst.cal.id)}
    if ev.get("attendees"):
        out["attendees"] = clean_fields({"attendees": ev["attendees"]}, dst.organizer["email"], dst.email)["attendees"]
    return out


def _check_destination(dst: Cal, family: list[dict[str, Any]]) -> None:
    """409 duplicate when the destination already holds a live event with one of the ids or the iCalUID."""
    for ev in family:
        if _live(dst.events.get(ev["id"])):
            raise ApiError(409, "The requested identifier already exists.", reason="duplicate")
    master = family[0]
    for other in dst.by_ical.get(master.get("iCalUID", ""), {}):
        x = dst.events[other]
        if other != master["id"] and "recurringEventId" not in x and _live(x):
            raise ApiError(409, "The requested identifier already exists.", reason="duplicate")


def move(src: ops.Write, dst: ops.Write, event_id: str) -> dict[str, Any]:
    """events.move: the event (a series with its exceptions) leaves ``src.cal`` for ``dst.cal``."""
    cal = src.cal
    ev = cal.events.get(event_id)
    if ev is None:
        if find_instance(cal, event_id) is not None:
            raise invalid(_INSTANCE, "cannotChangeOrganizerOfInstance")
        raise ApiError(404, "Not Found", reason="notFound")
    if "recurringEventId" in ev:
        raise invalid(_INSTANCE, "cannotChangeOrganizerOfInstance")
    if ev.get("status") == "cancelled":
        raise ApiError(410, "Resource has been deleted", reason="deleted")
    if ev.get("eventType", "default") != "default":
        raise invalid("Only events of type default can be moved to another calendar.", "eventTypeRestriction")
    if dst.cal is cal:
        return ev
    family = [ev] + [cal.events[x] for x in cal.exceptions.get(event_id, {})]
    _check_destination(dst.cal, family)
    moved: list[dict[str, Any]] = []
    for item in family:
        rehomed = _rehome(item, dst)
        moved.append(dst.save(rehomed, span_of(rehomed, dst.cal.time_zone)))
    # The master and its live exceptions leave the source as cancelled versions; the organizer
    # changed, so the source keeps a bare tombstone (Google: "only the id field is guaranteed").
    left_behind = {k: v for k, v in moved[0]["organizer"].items() if k != "self"}
    src.cancel({**ev, "organizer": left_behind})
    dst.notify(moved[0])
    return moved[0]


def _organizer(body: dict[str, Any], w: ops.Write) -> dict[str, Any]:
    """The organizer an import keeps: the one given (self when it is this calendar), else the calendar."""
    given = body.get("organizer")
    if given is None:
        return w.organizer
    email = given.get("email") if isinstance(given, dict) else None
    if not isinstance(email, str) or "@" not in email:
        raise invalid(f"Invalid organizer email: {email!r}.")
    out: dict[str, Any] = {"email": email}
    if isinstance(given.get("displayName"), str):
        out["displayName"] = given["displayName"]
    if email.lower() in (w.cal.id.lower(), w.email.lower()):
        out["self"] = True
    return out


def _existing_copy(cal: Cal, ical: str) -> dict[str, Any] | None:
    """The calendar's event (not an instance exception) with this iCalUID, deleted ones included."""
    for eid in cal.by_ical.get(ical, {}):
        ev = cal.events[eid]
        if "recurringEventId" not in ev and ev.get("iCalUID") == ical:
            return ev
    return None


def import_event(w: ops.Write, body: dict[str, Any]) -> dict[str, Any]:
    """events.import: store a private copy keyed by iCalUID (a second import updates the first copy)."""
    ical = body.get("iCalUID")
    if not isinstance(ical, str) or not ical.strip():
        raise invalid("Missing iCalUID: events.import needs the event's iCalUID.", "required")
    organizer = _organizer(body, w)
    incoming = {**body, "eventType": "default"}
    current = _existing_copy(w.cal, ical)
    if current is None:
        return ops.insert(w, incoming, organizer=organizer)
    given_seq = incoming.get("sequence")
    if isinstance(given_seq, int) and given_seq < current.get("sequence", 0):
        incoming.pop("sequence")
    return ops.change(w, current["id"], incoming, replace=True, if_match=None, organizer=organizer)
