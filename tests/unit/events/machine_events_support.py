"""The world the event-sync state machine drives: the real ``GoogleCalendar`` adapter and the
real Google client library on the Google emulator in process (series, instances, exceptions,
sync tokens that expire), the CRM fake behind ``CrmEvents``, links and the engine."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

from crmsync.crm import custom_side
from crmsync.crm.activity_shape import activity_raw
from crmsync.crm.custom_fields import REFERENCE_FIELDS
from crmsync.crm.events_side import CrmEvents
from crmsync.crm.fake import FakeCrm
from crmsync.crm.models import Activity
from crmsync.google import calendar_custom
from crmsync.google.calendar import GoogleCalendar
from crmsync.google.calendar_mapping import event_canon
from crmsync.google.pacing import Pacer
from crmsync.model import custom
from crmsync.model.event import EventOptions, canonical_event, match_keys
from crmsync.model.field_mapping import FieldMap, MappedFields, Target
from crmsync.model.kinds import Kind
from crmsync.model.link import Canon, Link
from crmsync.model.settings import KindSettings
from crmsync.ports import OpCounter
from crmsync.store.memory import MemoryStore
from crmsync.sync.engine import KindReport, KindSync
from infra.google_emulator.calendar import expire_sync_tokens
from infra.google_emulator.realism import configure
from tests.support.machines import RecordingLinks, StableIdCrm
from tests.unit.tasks.machine_tasks_support import (
    BASE,
    EMAIL,
    USER,
    InProcessHttp,
    MortalCrm,
    google_service,
    later_by,
)

TZ = "Europe/Berlin"
# A mapped CRM custom field (a picklist in a private extended property), synced like the built-ins.
STAGE = custom.key("deal_stage")
STAGES = (None, "Lead", "Won", "Lost")
MAPPED = MappedFields(
    [
        FieldMap(
            field=next(f for f in REFERENCE_FIELDS["activities"] if f.name == "deal_stage"),
            target=Target.PRIVATE_PROPERTY,
            key="dealStage",
        )
    ]
)
# A Monday two weeks ahead: inside the default window whenever the tests run.
MONDAY = date.today() + timedelta(days=14 - date.today().weekday())


def day(offset: int) -> str:
    """The date ``offset`` days after ``MONDAY``."""
    return (MONDAY + timedelta(days=offset)).isoformat()


class EventWorld:
    """Both sides, the links and the engine between them."""

    def __init__(self, settings: KindSettings | None = None, profile: str = "plain") -> None:
        self.settings = settings or KindSettings(google_group=None)
        self.options = EventOptions()
        from infra.google_emulator.core import EmulatorState

        self.state = EmulatorState()
        configure(self.state, {"profile": profile})  # the emulator's behaviours (realism.py)
        self.http = InProcessHttp(self.state)
        self.service = google_service("calendar", self.state, self.http)
        self.user = google_service("calendar", self.state, InProcessHttp(self.state))
        self.crm = FakeCrm()
        self.crm.declare_fields(REFERENCE_FIELDS)
        self.crm.add_user(EMAIL, "Anna", user_id=USER)
        self.ids = StableIdCrm(self.crm)
        self.flaky = MortalCrm(self.ids)
        self.links = RecordingLinks(MemoryStore().connection_store("conn1"))
        self.order: dict[str, int] = {}
        self.made_in_google: set[str] = set()
        self._keys = 0

    def now(self) -> datetime:
        return self.state.clock.now()

    def engine(self) -> KindSync:
        google = GoogleCalendar(
            self.service,
            BASE + "/batch/calendar/v3",
            connection_id="conn1",
            me=EMAIL,
            options=self.options,
            counter=OpCounter(),
            pacer=Pacer(None, clock=lambda: self.now().timestamp()),
            clock=self.now,
            sleep=lambda _: None,
            mapped=MAPPED,
        )
        crm = CrmEvents(
            self.flaky, "conn1", USER, self.settings, self.options, OpCounter(), clock=self.now, mapped=MAPPED
        )
        return KindSync(Kind.EVENTS, crm, google, self.links, self.settings, clock=self.now, match_keys=match_keys)

    def sync(self) -> KindReport:
        return self.engine().run()

    def later(self) -> None:
        later_by(self.state, 0.002)

    def expire_tokens(self) -> None:
        expire_sync_tokens(self.state.account(EMAIL), self.state)

    # ------------------------------------------------------------ the CRM

    def crm_create(self, body: Mapping[str, Any]) -> str:
        self._keys += 1
        rec = self.ids.create("activities", {"owner_id": USER, **body}, f"user-{self._keys}", on_behalf_of=USER)
        return str(rec.id)

    def crm_activity(self, rid: str) -> Activity:
        rec = self.ids.get("activities", rid, on_behalf_of=USER)
        assert isinstance(rec, Activity)
        return rec

    def crm_update(self, rid: str, patch: Mapping[str, Any]) -> None:
        self.ids.update("activities", rid, patch, self.crm_activity(rid).version, on_behalf_of=USER)

    def crm_delete(self, rid: str) -> None:
        self.ids.delete("activities", rid, self.crm_activity(rid).version, on_behalf_of=USER)

    def crm_records(self) -> dict[str, Activity]:
        page = self.ids.changes("activities", None, on_behalf_of=USER)
        return {c.id: c.record for c in page.items if isinstance(c.record, Activity)}

    def crm_live(self) -> dict[str, Canon]:
        return {
            rid: {**canonical_event(activity_raw(rec, EMAIL)), **custom_side.read(MAPPED, rec.custom_fields)}
            for rid, rec in self.crm_records().items()
        }

    # ------------------------------------------------------------ Google (as Google's apps do it)

    def _every(self, req: Any, follow: Any) -> list[dict[str, Any]]:
        """Every item of a listing, page after page (pages may be short or empty, realism.py)."""
        items: list[dict[str, Any]] = []
        while req is not None:
            page = req.execute()
            items += page.get("items") or []
            req = follow(req, page)
        return items

    def google_events(self) -> dict[str, dict[str, Any]]:
        """Live masters and single events of the primary calendar, raw."""
        events = self.user.events()
        req = events.list(calendarId="primary", maxResults=2500, showDeleted=False, singleEvents=False)
        items = self._every(req, events.list_next)
        live = [e for e in items if e.get("status") != "cancelled" and not e.get("recurringEventId")]
        for e in live:
            self.order.setdefault(e["id"], len(self.order))
        return {e["id"]: e for e in live}

    def google_ids(self) -> list[str]:
        return sorted(self.google_events(), key=self.order.__getitem__)

    def instances(self, eid: str) -> list[dict[str, Any]]:
        events = self.user.events()
        return self._every(events.instances(calendarId="primary", eventId=eid, showDeleted=True), events.instances_next)

    def google_live(self) -> dict[str, Canon]:
        events = self.user.events()
        req = events.list(calendarId="primary", maxResults=2500, showDeleted=True, singleEvents=False)
        items = self._every(req, events.list_next)
        masters = {e["id"]: e for e in items if e.get("status") != "cancelled" and not e.get("recurringEventId")}
        for eid in masters:
            self.order.setdefault(eid, len(self.order))
        found: dict[str, list[dict[str, Any]]] = {eid: [] for eid in masters}
        for e in items:
            if e.get("recurringEventId") in found:
                found[e["recurringEventId"]].append(e)
        return {
            eid: {**event_canon(ev, found[eid], TZ, EMAIL), **calendar_custom.read(ev, MAPPED)}
            for eid, ev in masters.items()
        }

    def google_insert(self, body: Mapping[str, Any]) -> str:
        self.later()
        eid = str(self.user.events().insert(calendarId="primary", body=dict(body)).execute()["id"])
        self.made_in_google.add(eid)
        return eid

    def google_patch(self, eid: str, body: Mapping[str, Any]) -> None:
        self.later()
        self.user.events().patch(calendarId="primary", eventId=eid, body=dict(body)).execute()

    def google_delete(self, eid: str) -> None:
        self.later()
        self.user.events().delete(calendarId="primary", eventId=eid).execute()

    def all_links(self) -> list[Link]:
        return list(self.links.all_links(Kind.EVENTS))

    def clear_failures(self) -> None:
        self.http.clear()
        self.flaky.fail.clear()


def utc_basic(local: str) -> str:
    """A Berlin wall-clock time as the UTC stamp Google puts in instance ids and UNTIL."""
    moment = datetime.fromisoformat(local).replace(tzinfo=__import__("zoneinfo").ZoneInfo(TZ))
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
