"""The CRM's calendar activities as the engine sees them: a ``RecordSide`` over any
``CrmConnector`` for ``Kind.EVENTS``, in canonical event form.

Scope: activities shown in calendar, inside the CRM-to-Google window, not private
when private ones are skipped (``private_activities="busy"``: a private activity is
read as its busy block, ``busy_canon``, and Google's edits of it write only times,
privacy and reminders, never its subject or details), and not organised by another CRM user whose own
sync writes the meeting (``organizer_syncs``). Activities outside the window are
left out of incremental listings and reported with an ``error`` in full ones, so
a linked pair that drifts out of the window is frozen rather than deleted.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from ..model.event import EventOptions, busy_canon, canonical_event
from ..model.field_mapping import MappedFields
from ..model.kinds import Kind
from ..model.link import Canon
from ..model.names import plain_name
from ..model.normalise import unreadable
from ..model.recurrence import never_happens, overlaps
from ..model.settings import KindSettings
from ..ports import Change, Listing, OpCounter, WriteOp, WriteResult
from . import custom_side
from .activity_shape import activity_raw, keep_exception_texts, time_body
from .bulk_writes import bulk_write
from .capabilities import DeclaresKeyRetention, exceptions_offered
from .contacts_side import _key
from .feed import feed_change, guard, parse_time, read_feed
from .held_values import write_holding_refused
from .models import Activity
from .port import BulkCreate, BulkDelete, BulkOp, BulkResult, BulkUpdate, CrmConnector
from .port import Change as FeedChange

PAGE = 1000
TIME_FIELDS = frozenset({"all_day", "start", "end", "recurrence", "exceptions"})
# Fields a refused value is never held back from: without them the activity would say something
# else (a series turned single, another organizer), not merely less (an attendee, a reminder).
REQUIRED = frozenset(
    {"owner_id", "subject", "all_day", "start", "end", "start_date", "end_date", "time_zone", "recurrence",
     "organizer_email", "private", "show_in_calendar"}
)  # fmt: skip
BUSY_KEPT = frozenset({"subject", "description", "location", "attendees"})  # never written into a busy activity

ContactLookup = Callable[[Sequence[str]], dict[str, str]]  # e-mails -> CRM contact ids


def held_recurrence(full: Canon) -> str | None:
    """Why the CRM cannot hold a canonical series' recurrence as it is (None if it can): it takes
    one RRULE with dates, no EXRULE and no dates-only series. Google keeps the whole of it (the
    link holds the CRM's stand-in), and the run's notes say so."""
    lines = full.get("recurrence") or []
    rules = [x for x in lines if x.startswith("RRULE:")]
    if len(rules) > 1:
        return f"recurrence: the CRM holds the first of {len(rules)} rules; the series as a whole is held in Google"
    if any(x.startswith("EXRULE") for x in lines):
        return "recurrence: the CRM cannot hold an exclusion rule (EXRULE); the series is held in Google"
    if lines and not rules:
        return (
            "recurrence: the CRM cannot hold a series of dates only; it shows the first, the series is held in Google"
        )
    return None


def held_exceptions(full: Canon) -> str | None:
    """Why a CRM without recurrence exceptions does not hold some of a series' occurrences (None
    if it holds them all): its moved or retitled occurrences stay in Google only."""
    held = [e["value"] for e in full.get("exceptions") or [] if not e["cancelled"]]
    if not held:
        return None
    return (
        "exceptions: the CRM keeps no moved or retitled occurrences (it declares recurrence_exceptions: false); "
        f"{', '.join(held)} held in Google"
    )


def _with_notes(results: list[WriteResult], ops: Sequence[WriteOp], *, exceptions: bool = True) -> list[WriteResult]:
    """Results carrying a note for each series the CRM holds only part of (see held_recurrence,
    and held_exceptions when the CRM keeps no ``exceptions``)."""
    out = []
    for res, op in zip(results, ops, strict=True):
        notes = []
        if res.ok and "recurrence" in op.fields:
            notes.append(held_recurrence(op.full))
        if res.ok and not exceptions and op.fields.keys() & TIME_FIELDS:
            notes.append(held_exceptions(op.full))
        said = tuple(n for n in notes if n)
        out.append(replace(res, notes=(*res.notes, *said)) if said else res)
    return out


@dataclass
class CrmEvents(DeclaresKeyRetention):
    """Calendar activities of one CRM user, through the connector, as canonical events."""

    connector: CrmConnector
    connection_id: str
    crm_user_id: str
    settings: KindSettings
    options: EventOptions = field(default_factory=EventOptions)
    counter: OpCounter = field(default_factory=OpCounter)
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    organizer_syncs: Callable[[str], bool] | None = None  # does this CRM user's own sync write their meetings?
    contact_ids: ContactLookup | None = None
    kind: Kind = Kind.EVENTS
    mapped: MappedFields = field(default_factory=MappedFields)  # the admin's custom fields of activities
    _me: str | None = field(default=None, init=False)
    _user_ids: dict[str, str | None] = field(default_factory=dict, init=False)
    _exceptions: bool | None = field(default=None, init=False)

    @property
    def me(self) -> str:
        """The running user's e-mail (read once)."""
        if self._me is None:
            with self._guard("crm.user"):
                self._me = self.connector.user(self.crm_user_id).email.strip().lower()
        return self._me

    # ----------------------------------------------------------------- reading

    def list_changes(self, token: str | None) -> Listing:
        """Every feed entry after ``token`` (all pages); from the start when None."""
        read = read_feed(
            self.connector,
            "activities",
            token,
            crm_user_id=self.crm_user_id,
            settings=self.settings,
            counter=self.counter,
        )
        return Listing([self._change(e) for e in read.entries], read.cursor, full=read.full)

    def get(self, ids: Sequence[str]) -> dict[str, Change]:
        """Current activities by id (deleted or invisible ones are absent)."""
        out: dict[str, Change] = {}
        for start in range(0, len(ids), PAGE):
            with self._guard("crm.get_many"):
                records = self.connector.get_many(
                    "activities", list(ids[start : start + PAGE]), on_behalf_of=self.crm_user_id
                )
            out.update({r.id: self.record_change(r) for r in records if isinstance(r, Activity)})
        return out

    def _change(self, entry: FeedChange) -> Change:
        return feed_change(entry, Activity, self.record_change)

    def record_change(self, record: Activity) -> Change:
        """One activity as a ``Change`` (scope and window applied)."""
        when, version = parse_time(record.updated_at), str(record.version)
        try:
            canon = canonical_event(activity_raw(record, self.me))
            if record.private and self.busy:
                canon = busy_canon(canon)  # custom values stay in the CRM too: the busy block shows none
            else:
                canon.update(custom_side.read(self.mapped, record.custom_fields))
        except Exception as err:  # one record's odd value skips that record, never the run
            return Change(record.id, None, when, version, error=unreadable(err), name=plain_name(record.subject))
        if not self._in_scope(record, canon) or never_happens(canon):
            return Change(record.id, None, when, version, in_scope=False)
        lo, hi = self.options.crm_window.bounds(self.clock())
        if not overlaps(canon, lo, hi):
            return Change(record.id, canon, when, version, creatable=False)  # linked: still synced; never created
        return Change(record.id, canon, when, version)

    @property
    def exceptions_offered(self) -> bool:
        """Whether the CRM keeps occurrence exceptions (its capabilities, read once)."""
        if self._exceptions is None:
            self._exceptions = exceptions_offered(self.connector)
        return self._exceptions

    @property
    def busy(self) -> bool:
        """Whether private activities are shown in Google as busy blocks only."""
        return self.options.private_activities == "busy"

    def _in_scope(self, record: Activity, canon: Canon) -> bool:
        if not record.show_in_calendar:
            return False
        if record.private and self.options.private_activities == "skip":
            return False
        organizer = canon.get("organizer")
        if organizer and organizer != self.me and self.organizer_syncs is not None:
            return not self.organizer_syncs(organizer)  # the organizer's own sync writes this meeting
        return True

    # ----------------------------------------------------------------- writing

    def body(self, fields: Canon, full: Canon, *, creating: bool) -> dict[str, Any]:
        """The CRM patch (or create body) for changed canonical fields."""
        body: dict[str, Any] = {}
        if not creating and self.busy and full.get("private"):
            fields = {k: v for k, v in fields.items() if k not in BUSY_KEPT}  # Google holds only the busy block
        if creating or fields.keys() & TIME_FIELDS:
            body.update(time_body(full))
            if body.get("exceptions") and not self.exceptions_offered:
                body["exceptions"] = []  # the CRM keeps none: moved occurrences are held in Google
        for name in ("description", "location"):
            if name in fields:
                body[name] = fields[name]
        if "subject" in fields:
            body["subject"] = fields["subject"] or "(no subject)"
        if "private" in fields:
            body["private"] = bool(fields["private"])
        if "organizer" in fields:
            body["organizer_email"] = fields["organizer"]
        if "reminders" in fields:
            body["reminders"] = [
                {
                    "method": r.split(":")[0] if r.split(":")[0] in ("popup", "email") else "popup",
                    "minutes_before": int(r.split(":")[1]),
                }
                for r in fields["reminders"] or []
            ]
        if "attendees" in fields:
            body["attendees"] = self._attendees(fields["attendees"] or [])
        custom = {} if self.busy and full.get("private") else custom_side.patch(self.mapped, fields)
        if custom:
            body["custom_fields"] = {k: v for k, v in custom.items() if v is not None or not creating}
        if creating:
            body.setdefault("subject", "(no subject)")
            body.update(owner_id=self.crm_user_id, show_in_calendar=True)
            if self.settings.crm_tag:
                body["tags"] = [self.settings.crm_tag]
        return body

    def stand_ins(self, record: Canon, wanted: Canon) -> Canon:
        """Custom fields mapped crm_to_google: the CRM keeps its own value."""
        return self.mapped.kept(record, wanted, crm=True)

    def _attendees(self, entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Participants matched by e-mail to CRM users and contacts."""
        emails = [str(e["value"]) for e in entries]
        for email in emails:
            if email not in self._user_ids:
                with self._guard("crm.user_by_email"):
                    user = self.connector.user_by_email(email)
                self._user_ids[email] = user.id if user else None
        contacts = self.contact_ids(emails) if self.contact_ids and emails else {}
        out = []
        for e in entries:
            item: dict[str, Any] = {"email": e["value"], "response": e.get("response") or "needs_action"}
            if e.get("name"):
                item["name"] = e["name"]
            if self._user_ids.get(e["value"]):
                item["user_id"] = self._user_ids[e["value"]]
            if contacts.get(e["value"]):
                item["contact_id"] = contacts[e["value"]]
            out.append(item)
        return out

    def create(self, ops: Sequence[WriteOp]) -> list[WriteResult]:
        """Create activities, each with an idempotency key from the connection and the Google id; a
        value the CRM refuses (an attendee ``someone@lisbon``) is held back (``held_values``)."""

        def make(op: WriteOp, body: dict[str, Any], held: str) -> BulkOp:
            return BulkCreate(body, _key(self.connection_id, "activities", op.idempotency + held))

        bodies = [(self.body(op.fields, op.full, creating=True), list[str]()) for op in ops]
        sent = write_holding_refused(ops, bodies, make, self._send, required=REQUIRED)
        return _with_notes(sent, ops, exceptions=self.exceptions_offered)

    def update(self, ops: Sequence[WriteOp]) -> list[WriteResult]:
        """Patch changed fields only, If-Match the version last seen."""
        bodies = [self.body(op.fields, op.full, creating=False) for op in ops]
        busy = {
            str(op.target_id)
            for op, b in zip(ops, bodies, strict=True)
            if "exceptions" in b and self.busy and op.full.get("private")
        }
        if busy:  # the busy block's occurrences carry no titles: keep the CRM's own
            current = self._records(sorted(busy))
            for op, b in zip(ops, bodies, strict=True):
                if str(op.target_id) in current:
                    b["exceptions"] = keep_exception_texts(b["exceptions"], current[str(op.target_id)])

        def make(op: WriteOp, body: dict[str, Any], held: str) -> BulkOp:
            return BulkUpdate(str(op.target_id), int(op.version or 0), body)

        noted = [(b, list[str]()) for b in bodies]
        sent = write_holding_refused(ops, noted, make, self._send, required=REQUIRED)
        return _with_notes(sent, ops, exceptions=self.exceptions_offered)

    def _records(self, ids: Sequence[str]) -> dict[str, Activity]:
        out: dict[str, Activity] = {}
        for start in range(0, len(ids), PAGE):
            with self._guard("crm.get_many"):
                records = self.connector.get_many(
                    "activities", list(ids[start : start + PAGE]), on_behalf_of=self.crm_user_id
                )
            out.update({r.id: r for r in records if isinstance(r, Activity)})
        return out

    def delete(self, ops: Sequence[WriteOp]) -> list[WriteResult]:
        """Delete, If-Match the version last seen."""
        bulk: list[BulkOp] = [BulkDelete(str(op.target_id), int(op.version or 0)) for op in ops]
        return [res for res, _ in self._send(ops, bulk, missing_ok=True)]

    def _send(
        self, ops: Sequence[WriteOp], bulk: list[BulkOp], *, missing_ok: bool = False
    ) -> list[tuple[WriteResult, BulkResult]]:
        return bulk_write(
            self.connector,
            "activities",
            ops,
            bulk,
            crm_user_id=self.crm_user_id,
            counter=self.counter,
            record_type=Activity,
            record_change=self.record_change,
            missing_ok=missing_ok,
            what="activity",
        )

    def _guard(self, name: str) -> AbstractContextManager[None]:
        return guard(self.counter, name)
