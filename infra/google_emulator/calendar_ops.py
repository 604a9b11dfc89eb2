"""Event writes: insert, patch/update (also of single instances) and delete, with invitation accounting."""

from __future__ import annotations

from typing import Any

from . import calendar_recurrence as rec
from .calendar_model import (
    INSTANCE_ID_RE,
    WRITABLE,
    Span,
    check_client_id,
    clean_fields,
    etag,
    html_link,
    invalid,
    merge_patch,
    new_event_id,
    normalize_when,
    span_of,
)
from .calendar_series import find_instance, is_master, orphaned_exceptions, virtual_instance
from .calendar_store import Cal, CalendarStore
from .core import ApiError, EmulatorState, rfc3339

_ORDER = (
    "kind", "etag", "id", "status", "htmlLink", "created", "updated", "summary", "description", "location", "colorId",
    "creator", "organizer", "start", "end", "endTimeUnspecified", "recurrence", "recurringEventId", "originalStartTime",
    "transparency", "visibility", "iCalUID", "sequence", "attendees", "guestsCanInviteOthers", "guestsCanModify",
    "guestsCanSeeOtherGuests", "anyoneCanAddSelf", "privateCopy", "locked", "extendedProperties", "reminders", "source",
    "eventType",
)  # fmt: skip
_READ_ONLY = (
    "kind",
    "id",
    "htmlLink",
    "created",
    "creator",
    "organizer",
    "iCalUID",
    "recurringEventId",
    "originalStartTime",
)
_TIME_FIELDS = ("start", "end", "recurrence", "status")


class Write:
    """Who writes where: the account, its calendar, the clock and the sendUpdates choice."""

    def __init__(
        self, state: EmulatorState, store: CalendarStore, cal: Cal, email: str, send_updates: str | None, method: str
    ) -> None:
        if send_updates not in (None, "all", "externalOnly", "none"):
            raise ApiError(
                400,
                f"Invalid value for sendUpdates: {send_updates!r} (all, externalOnly or none).",
                location="sendUpdates",
            )
        self.state, self.store, self.cal, self.email = state, store, cal, email
        self.send_updates = send_updates or "none"
        self.method = method
        self.now = state.clock.now()
        self.stamp = rfc3339(self.now)

    @property
    def organizer(self) -> dict[str, Any]:
        if self.cal.primary:
            return {"email": self.email, "self": True}
        return {"email": self.cal.id, "displayName": self.cal.summary, "self": True}

    def save(self, ev: dict[str, Any], span: Span) -> dict[str, Any]:
        """Stamp etag/updated on a new version and store it."""
        seq = self.state.next_id()
        ev = {**ev, "etag": etag(seq), "updated": self.stamp}
        ev = {k: ev[k] for k in _ORDER if k in ev}
        self.cal.put(ev, span, seq, self.now)
        return ev

    def notify(self, ev: dict[str, Any]) -> None:
        """Count the invitation e-mails Google would send to the guests (never the organizer)."""
        if self.send_updates == "none":
            return
        org = ev.get("organizer", {}).get("email", "").lower()
        recipients = [
            a["email"]
            for a in ev.get("attendees", [])
            if a["email"].lower() not in (org, self.email) and not a.get("organizer")
        ]
        if recipients:
            self.store.invitations_sent += len(recipients)
            self.store.invitation_log.append(
                {"method": self.method, "eventId": ev["id"], "sendUpdates": self.send_updates, "recipients": recipients}
            )

    def finish(self, readonly: dict[str, Any], fields: dict[str, Any]) -> tuple[dict[str, Any], Span]:
        """Validate times and recurrence and assemble the stored resource."""
        span = span_of(fields, self.cal.time_zone)
        fields["start"] = normalize_when(fields["start"], span.local_start)
        fields["end"] = normalize_when(fields["end"], span.local_end)
        if fields.get("recurrence"):
            if "recurringEventId" in readonly:
                raise invalid("Invalid recurrence: an instance of a recurring event cannot have its own recurrence.")
            if not span.all_day and not fields["start"].get("timeZone"):
                raise invalid("Missing time zone definition for start time: a recurring event needs start.timeZone.")
            rec.validate(fields["recurrence"], span)
        else:
            fields.pop("recurrence", None)
        ev = {"status": "confirmed", "reminders": {"useDefault": True}, "eventType": "default", **readonly, **fields}
        return ev, span

    def cancel(self, ev: dict[str, Any]) -> dict[str, Any]:
        """Store a cancelled version (and cancel a series' live exceptions with it)."""
        saved = self.save({**ev, "status": "cancelled"}, self.cal.spans[ev["id"]])
        if is_master(ev):
            for xid in list(self.cal.exceptions.get(ev["id"], {})):
                x = self.cal.events[xid]
                if x.get("status") != "cancelled":
                    self.save({**x, "status": "cancelled"}, self.cal.spans[xid])
        return saved


def insert(
    w: Write, body: dict[str, Any], *, seed: bool = False, organizer: dict[str, Any] | None = None
) -> dict[str, Any]:
    """events.insert (and seeding, which may also store instance exceptions; import passes its organizer)."""
    cal = w.cal
    raw_id = body.get("id")
    if seed and isinstance(raw_id, str) and INSTANCE_ID_RE.match(raw_id) and body.get("recurringEventId"):
        eid = raw_id
    else:
        eid = check_client_id(raw_id) if raw_id is not None else new_event_id()
    if eid in cal.events:
        raise ApiError(409, "The requested identifier already exists.", reason="duplicate")
    ical = body.get("iCalUID") or f"{eid}@google.com"
    if body.get("iCalUID") and not seed:
        for other in cal.by_ical.get(ical, {}):
            if "recurringEventId" not in cal.events[other] and cal.events[other].get("iCalUID") == ical:
                raise ApiError(409, "The requested identifier already exists.", reason="duplicate")
    organizer = organizer or w.organizer
    fields = clean_fields(body, organizer["email"], w.email)
    readonly: dict[str, Any] = {
        "kind": "calendar#event",
        "id": eid,
        "htmlLink": html_link(eid, cal.id),
        "created": w.stamp,
        "creator": {"email": w.email, "self": True},
        "organizer": organizer,
        "iCalUID": ical,
        "sequence": fields.pop("sequence", 0),
    }
    if seed and eid == raw_id and body.get("recurringEventId"):
        readonly["recurringEventId"] = body["recurringEventId"]
        readonly["originalStartTime"] = body.get("originalStartTime") or body.get("start")
    ev, span = w.finish(readonly, fields)
    saved = w.save(ev, span)
    w.notify(saved)
    return saved


def _if_match(if_match: str | None, current_etag: str) -> None:
    if (
        if_match is not None
        and if_match.strip() not in ("*", current_etag)
        and if_match.strip().removeprefix("W/") != current_etag
    ):
        raise ApiError(
            412, "Precondition Failed", reason="conditionNotMet", location="If-Match", location_type="header"
        )


def _current(cal: Cal, event_id: str) -> tuple[dict[str, Any], Span, bool]:
    """The stored event, or an unmodified instance to materialize (virtual=True), or 404."""
    ev = cal.events.get(event_id)
    if ev is not None:
        return ev, cal.spans[event_id], False
    found = find_instance(cal, event_id)
    if found is None:
        raise ApiError(404, "Not Found", reason="notFound")
    inst, ispan = virtual_instance(cal, found[0], found[1])
    return inst, ispan, True


def get(cal: Cal, event_id: str) -> dict[str, Any]:
    """events.get: stored events (cancelled ones too) and unmodified instances."""
    return _current(cal, event_id)[0]


def change(
    w: Write,
    event_id: str,
    body: dict[str, Any],
    *,
    replace: bool,
    if_match: str | None,
    organizer: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """events.update (replace=True) or events.patch; an instance id creates or edits an exception.

    ``organizer`` replaces the stored one (events.import re-importing a copy)."""
    cal = w.cal
    current = _current(cal, event_id)[0]
    _if_match(if_match, current["etag"])
    incoming = {k: v for k, v in body.items() if k in WRITABLE}
    if replace:
        wanted = {k: v for k, v in incoming.items() if v is not None}
    else:
        wanted = merge_patch({k: v for k, v in current.items() if k in WRITABLE}, incoming)
    if "recurringEventId" in current and wanted.get("recurrence"):
        raise invalid("Invalid recurrence: an instance of a recurring event cannot have its own recurrence.")
    given_seq = body.get("sequence")
    if isinstance(given_seq, int) and given_seq < current.get("sequence", 0):
        raise invalid(
            "Invalid sequence value. The specified sequence number is below the current sequence number of the resource."
        )
    organizer = organizer or current["organizer"]
    fields = clean_fields(wanted, organizer["email"], w.email)
    fields.pop("sequence", None)
    readonly = {k: current[k] for k in _READ_ONLY if k in current}
    readonly["organizer"] = organizer
    ev, span = w.finish(readonly, fields)
    bump = any(ev.get(k) != current.get(k) for k in _TIME_FIELDS)
    ev["sequence"] = given_seq if isinstance(given_seq, int) else current.get("sequence", 0) + int(bump)
    if ev["status"] == "cancelled" and current.get("status") != "cancelled" and event_id in cal.events:
        cal.spans[event_id] = span
        saved = w.cancel({**ev, "status": current.get("status", "confirmed")})
    else:
        saved = w.save(ev, span)
    if is_master(current) and (current.get("recurrence") != ev.get("recurrence") or current["start"] != ev["start"]):
        for x in orphaned_exceptions(cal, saved, span):
            w.save({**x, "status": "cancelled"}, cal.spans[x["id"]])
    w.notify(saved)
    return saved


def delete(w: Write, event_id: str, *, if_match: str | None) -> None:
    """events.delete: cancel an event, a whole series, or one instance (a cancelled exception)."""
    current, span, virtual = _current(w.cal, event_id)
    _if_match(if_match, current["etag"])
    if current.get("status") == "cancelled":
        raise ApiError(410, "Resource has been deleted", reason="deleted")
    if virtual:
        saved = w.save({**current, "status": "cancelled"}, span)
    else:
        saved = w.cancel(current)
    w.notify(saved)
