"""The Google side of event sync: Calendar v3 as a ``RecordSide`` for ``Kind.EVENTS``.

Reads every chosen calendar with ``singleEvents=false`` (a series stays one
record) and ``showDeleted``, incrementally by sync token; a changed series is
re-read whole (master + exception instances) and folded into one canonical
record. Writes go through HTTP batch requests: inserts with our deterministic id
(409 = already there: link it), PATCHes of changed fields with If-Match, and
exceptions as instance patches/deletes. Google ids are the event id for the
write calendar and ``<calendarId>/<eventId>`` for calendars only read.
"""

from __future__ import annotations

import json
import random
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from ..model.event import EventOptions
from ..model.field_mapping import MappedFields
from ..model.kinds import Kind
from ..model.link import Canon
from ..model.names import plain_name
from ..model.normalise import unreadable
from ..model.recurrence import never_happens, overlaps
from ..ports import Change, Listing, OpCounter, WriteOp, WriteResult
from . import calendar_custom
from .batch import BatchRunner, Call, Outcome
from .calendar_mapping import Event, Series, crm_id_of, event_canon, is_foreign_copy
from .calendar_writes import create_events, delete_events, update_events
from .errors import NotFound, SyncTokenExpired
from .gone import calendar_gone
from .pacing import Pacer
from .paging import fetch_all
from .retry import Caller

PAGE_SIZE = 2500
PACED_CHUNK = 200  # records per engine write chunk while pacing against a per-user quota
WRITE_CHUNK_COST = 220  # inner calls one such chunk may need (exception patches included)


def _is_exception(inst: Event, master: Event) -> bool:
    """Whether an instance differs from its series (moved, cancelled or overridden)."""
    if inst.get("status") == "cancelled":
        return True
    if inst.get("start") != inst.get("originalStartTime"):
        return True
    return any(inst.get(k) != master.get(k) for k in ("summary", "description", "location"))


def _when_updated(ev: Event) -> datetime | None:
    value = ev.get("updated")
    return datetime.fromisoformat(str(value).replace("Z", "+00:00")) if value else None


PRIMARY = "primary"  # the user's own calendar; its events' Google ids are the bare event ids


class GoogleCalendar:
    """Google Calendar events in canonical form."""

    kind = Kind.EVENTS

    def __init__(
        self,
        service: Any,
        batch_uri: str,
        *,
        connection_id: str,
        me: str,
        options: EventOptions | None = None,
        counter: OpCounter | None = None,
        calendar_id: str | None = None,
        former_calendars: Sequence[str] = (),
        pacer: Pacer | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        sleep: Callable[[float], None] = time.sleep,
        rng: Callable[[], float] = random.random,
        attempts: int = 5,
        max_batch: int = 1000,
        mapped: MappedFields | None = None,
    ) -> None:
        self.service, self.connection_id, self.me = service, connection_id, me.strip().lower()
        self.mapped = mapped or MappedFields()  # the admin's custom fields of activities
        self.options, self.counter = options or EventOptions(), counter or OpCounter()
        self.pacer = pacer or Pacer()
        self.clock = clock
        self.call = Caller(self.counter, pacer=self.pacer, sleep=sleep, rng=rng, attempts=attempts)
        self.runner = BatchRunner(
            batch_uri, self.counter, self.pacer, sleep=sleep, rng=rng, attempts=attempts, max_batch=max_batch
        )
        self._write_cal = "primary" if self.options.calendar == "primary" else calendar_id
        self._former = list(former_calendars)  # earlier write calendars: linked events there still sync
        self._tz: dict[str, str] = {}
        self.seen: dict[str, Event] = {}  # masters as last read, by Google id (attendee updates lay over them)
        self._events: Any = None

    # ------------------------------------------------------------------ plumbing

    @property
    def time_zone(self) -> str | None:
        """The time zone of the user's calendar once a listing read it (times on the settings page use it)."""
        return self._tz.get(PRIMARY) or (self._tz.get(self._write_cal) if self._write_cal else None)

    @property
    def write_chunk(self) -> int:
        """Writes per engine chunk: a whole HTTP batch, or ``PACED_CHUNK`` while a quota is paced
        (``budget`` checks room for one such chunk between chunks)."""
        return self.runner.max_batch if self.pacer.per_minute is None else min(self.runner.max_batch, PACED_CHUNK)

    @property
    def events(self) -> Any:
        """The events resource (built once: building it is slow)."""
        if self._events is None:
            self._events = self.service.events()
        return self._events

    def stand_ins(self, record: Canon, wanted: Canon) -> Canon:
        """Google sets an event's organizer itself (read-only, see ``FIELD_MAP``): the event keeps its own."""
        keeps = {"organizer": record.get("organizer")} if "organizer" in wanted else {}
        return {**keeps, **self.mapped.kept(record, wanted, crm=False)}

    def budget(self) -> bool:
        """True while one more write chunk fits under the per-user quota (``KindSync(budget=...)``)."""
        return self.pacer.room() >= WRITE_CHUNK_COST

    @property
    def write_calendar(self) -> str:
        """The calendar CRM activities are written to (the dedicated one is found or created once)."""
        if self._write_cal is None:
            self._write_cal = self._find_or_create(self.options.calendar_name)
        return self._write_cal

    def _find_or_create(self, name: str) -> str:
        lists = self.service.calendarList()
        paged = fetch_all(
            lambda tok: self.call("calendar.calendarList.list", lambda: lists.list(maxResults=250, pageToken=tok)),
            "items",
        )
        for entry in paged.items:
            if entry.get("summary") == name and entry.get("accessRole") == "owner":
                return str(entry["id"])
        made = self.call("calendar.calendars.insert", lambda: self.service.calendars().insert(body={"summary": name}))
        return str(made["id"])

    def calendars(self) -> list[str]:
        """Every calendar read: the write calendar first, the extra ones, then former write calendars."""
        return list(dict.fromkeys([self.write_calendar, *self.options.read_calendars, *self._former]))

    @property
    def legacy_calendars(self) -> set[str]:
        """Former write calendars no longer chosen: their linked events keep syncing, nothing new
        comes from them (switching the write calendar must neither delete nor import anything)."""
        return set(self._former) - {self.write_calendar, *self.options.read_calendars}

    def gid(self, cal: str, eid: str) -> str:
        """The Google id the engine sees for event ``eid`` in ``cal`` (stable whichever calendar is written)."""
        return eid if cal == PRIMARY else f"{cal}/{eid}"

    def split(self, gid: str) -> tuple[str, str]:
        """(calendar, event id) of a Google id."""
        cal, sep, eid = gid.rpartition("/")
        return (cal, eid) if sep else (PRIMARY, gid)

    # ------------------------------------------------------------------ reading

    def list_changes(self, token: str | None) -> Listing:
        """Changes of every calendar since ``token``; all calendars in full when it is None, stale or expired."""
        cals = self.calendars()
        state = _read_token(token)
        full = state is None or sorted(state) != sorted(cals)
        pages: dict[str, tuple[list[Event], str | None]] = {}
        if not full:
            assert state is not None
            try:
                pages = {cal: self._list(cal, state[cal]) for cal in cals}
            except SyncTokenExpired:
                full = True
        if full:
            pages = {cal: self._list(cal, None) for cal in cals}
        changes: list[Change] = []
        for cal, (items, _) in pages.items():
            changes += self._fold(cal, items, full)
        tokens = {cal: tok for cal, (_, tok) in pages.items()}
        return Listing(changes, json.dumps({"v": 1, "calendars": tokens}, sort_keys=True), full)

    def _list(self, cal: str, sync_token: str | None) -> tuple[list[Event], str | None]:
        events = self.events
        params: dict[str, Any] = {"calendarId": cal, "maxResults": PAGE_SIZE, "showDeleted": True}
        params["singleEvents"] = False
        if sync_token:
            params["syncToken"] = sync_token

        def page(tok: str | None) -> dict[str, Any]:
            resp = self.call("calendar.events.list", lambda: events.list(**params, pageToken=tok))
            if resp.get("timeZone"):
                self._tz[cal] = str(resp["timeZone"])
            return resp

        try:
            paged = fetch_all(page, "items")
        except NotFound as err:
            raise calendar_gone(cal, self.options, self.write_calendar) from err
        return paged.items, paged.next_sync_token

    def _fold(self, cal: str, items: list[Event], full: bool) -> list[Change]:
        masters: dict[str, Event] = {}
        exceptions: dict[str, list[Event]] = defaultdict(list)
        touched: set[str] = set()
        for item in items:
            series = item.get("recurringEventId")
            if series:
                exceptions[str(series)].append(item)
                touched.add(str(series))
            else:
                masters[str(item["id"])] = item
                if item.get("recurrence"):
                    touched.add(str(item["id"]))
        if not full and touched:  # a sync listing sends only what changed: re-read touched series whole
            for sid, series_now in self.fetch_series(cal, sorted(touched)).items():
                masters[sid] = series_now.master or {"id": sid, "status": "cancelled"}
                exceptions[sid] = series_now.exceptions
        out = []
        for sid, master in masters.items():
            change = self._change(cal, master, exceptions.get(sid, []), full)
            if change is not None:
                out.append(change)
        return out

    def _change(self, cal: str, master: Event, exceptions: list[Event], full: bool) -> Change | None:
        gid, version, when = self.gid(cal, str(master["id"])), master.get("etag"), _when_updated(master)
        self.seen[gid] = master
        if master.get("status") == "cancelled":
            return Change(gid, None, when, version)
        hint = crm_id_of(master, self.connection_id)
        if master.get("eventType", "default") != "default" or is_foreign_copy(master, self.connection_id):
            return Change(gid, None, when, version, in_scope=False)  # focus time, out of office, others' meetings
        try:
            canon = self.canon(master, exceptions, cal)
        except Exception as err:  # one record's odd value skips that record, never the run
            name = plain_name(master.get("summary"))
            return Change(gid, None, when, version, crm_id_hint=hint, error=unreadable(err), name=name)
        if never_happens(canon):
            return Change(gid, None, when, version, crm_id_hint=hint, in_scope=False)  # Google shows nothing
        lo, hi = self.options.google_window.bounds(self.clock())
        if not overlaps(canon, lo, hi) or cal in self.legacy_calendars:
            return Change(gid, canon, when, version, crm_id_hint=hint, creatable=False)  # linked: synced; never created
        return Change(gid, canon, when, version, crm_id_hint=hint)

    def fetch_series(self, cal: str, ids: Sequence[str]) -> dict[str, Series]:
        """Masters by event id (one batch) and, for series, their exception instances (one more batch)."""
        events = self.events
        gets = [Call("calendar.events.get", events.get(calendarId=cal, eventId=eid)) for eid in ids]
        masters: dict[str, Event | None] = {}
        for eid, outcome in zip(ids, self.runner.run(gets), strict=True):
            masters[eid] = _raise_transient(outcome, none_on=NotFound)
        series = [eid for eid, m in masters.items() if m and m.get("recurrence") and m.get("status") != "cancelled"]
        calls = [
            Call(
                "calendar.events.instances",
                events.instances(calendarId=cal, eventId=eid, showDeleted=True, maxResults=PAGE_SIZE),
            )
            for eid in series
        ]
        found: dict[str, list[Event]] = {}
        for eid, outcome in zip(series, self.runner.run(calls), strict=True):
            resp = _raise_transient(outcome, none_on=NotFound) or {}
            items = list(resp.get("items") or [])
            token = resp.get("nextPageToken")
            while token:
                more = self.call("calendar.events.instances", _instances_page(events, cal, eid, str(token)))
                items += more.get("items") or []
                token = more.get("nextPageToken")
            master = masters[eid]
            assert master is not None
            found[eid] = [i for i in items if _is_exception(i, master)]
        return {eid: Series(m, found.get(eid, [])) for eid, m in masters.items()}

    def get(self, ids: Sequence[str]) -> dict[str, Change]:
        """Current events by Google id (deleted or missing ones are absent)."""
        by_cal: dict[str, list[str]] = defaultdict(list)
        for gid in dict.fromkeys(ids):
            cal, eid = self.split(gid)
            by_cal[cal].append(eid)
        out: dict[str, Change] = {}
        for cal, eids in by_cal.items():
            for series in self.fetch_series(cal, eids).values():
                if series.master is None or series.master.get("status") == "cancelled":
                    continue
                change = self._change(cal, series.master, series.exceptions, full=True)
                if change is not None:
                    out[change.id] = change
        return out

    # ------------------------------------------------------------------ writing (calendar_writes.py)

    def create(self, ops: Sequence[WriteOp]) -> list[WriteResult]:
        """Insert events under our deterministic ids (a 409 links the existing one), then their exceptions."""
        return calendar_custom.holding_refused(create_events(self, ops), ops, self.mapped, self._canons, create=True)

    def update(self, ops: Sequence[WriteOp]) -> list[WriteResult]:
        """PATCH the changed fields, If-Match the etag last seen; exceptions as instance writes."""
        return calendar_custom.holding_refused(update_events(self, ops), ops, self.mapped, self._canons, create=False)

    def _canons(self, ids: list[str]) -> dict[str, Canon]:
        """The canonical records Google holds now under ``ids`` (read again)."""
        return {gid: ch.canon for gid, ch in self.get(ids).items() if ch.canon is not None}

    def delete(self, ops: Sequence[WriteOp]) -> list[WriteResult]:
        """Delete events, If-Match the etag last seen; one already gone counts as deleted."""
        return delete_events(self, ops)

    def tz(self, cal: str) -> str:
        """The time zone of calendar ``cal`` as its last listing gave it (UTC before one)."""
        return self._tz.get(cal, "UTC")

    def canon(self, master: Event, instances: list[Event], cal: str) -> Canon:
        """The canonical event of a master and its exceptions, mapped custom fields included."""
        canon = event_canon(master, instances, self.tz(cal), self.me)
        return {**canon, **calendar_custom.read(master, self.mapped)}


def _raise_transient(outcome: Outcome, *, none_on: type[BaseException]) -> Event | None:
    if isinstance(outcome, none_on):
        return None
    if isinstance(outcome, BaseException):
        raise outcome
    return outcome


def _read_token(token: str | None) -> dict[str, str] | None:
    if not token:
        return None
    try:
        data = json.loads(token)
        cals = data["calendars"]
    except (ValueError, KeyError, TypeError):
        return None  # a token from another version: start over with a full listing
    if not isinstance(cals, dict) or not all(isinstance(v, str) for v in cals.values()):
        return None
    return {str(k): str(v) for k, v in cals.items()}


def _instances_page(events: Any, cal: str, eid: str, token: str) -> Callable[[], Any]:
    """A request factory for one further page of a series' instances."""
    return lambda: events.instances(
        calendarId=cal, eventId=eid, showDeleted=True, maxResults=PAGE_SIZE, pageToken=token
    )
