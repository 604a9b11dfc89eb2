"""CRM tasks as Calendar events end to end: the CRM fake, the engine and the Google emulator
over real HTTP with the real google-api-python-client."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from crmsync.crm.fake import FakeCrm
from crmsync.crm.models import Task
from crmsync.crm.tasks_side import CrmTasks
from crmsync.google.client import Endpoint, build_service
from crmsync.google.pacing import Pacer
from crmsync.google.tasks_as_events import CalendarTasks, DueDatedOnly
from crmsync.model.kinds import Kind
from crmsync.model.settings import KindSettings
from crmsync.model.task import match_keys
from crmsync.ports import OpCounter, WriteOp
from crmsync.store.memory import MemoryStore
from crmsync.sync.engine import KindReport, KindSync
from infra.google_emulator.calendar import expire_sync_tokens
from infra.google_emulator.core import SCOPE_CALENDAR
from tests.support.google import credentials

pytestmark = pytest.mark.integration
EMAIL = "anna@corp.example"
NOW = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)


class World:
    """The CRM fake, the emulator's primary calendar, links, and the engine between them."""

    def __init__(self, emulator: Any) -> None:
        self.emulator = emulator
        emulator.state.clock.set(NOW, frozen=True)
        self.crm = FakeCrm()
        self.crm.add_user(EMAIL, "Anna", user_id="u1")
        self.settings = KindSettings(google_group=None)
        self.links = MemoryStore().connection_store("conn1")
        endpoint = Endpoint(emulator.base_url, timeout=30)
        self.service = build_service(
            "calendar", credentials(emulator.state, EMAIL, frozenset({SCOPE_CALENDAR})), endpoint
        )
        self.google = CalendarTasks(
            self.service,
            endpoint.batch_uri("calendar"),
            connection_id="conn1",
            counter=OpCounter(),
            pacer=Pacer(None),
            sleep=lambda s: emulator.state.clock.advance(timedelta(seconds=s)),
        )
        self.added = 0

    def engine(self) -> KindSync:
        crm = DueDatedOnly(CrmTasks(self.crm, "conn1", "u1", self.settings, OpCounter()))
        return KindSync(
            Kind.TASKS, crm, self.google, self.links, self.settings, clock=lambda: NOW, match_keys=match_keys
        )

    def sync(self) -> KindReport:
        report = self.engine().run()
        assert report.complete, report.as_dict()
        return report

    def add(self, **body: Any) -> str:
        self.added += 1
        return self.crm.create("tasks", {"owner_id": "u1", **body}, f"k-{self.added}").id

    def task(self, rid: str) -> Task:
        rec = self.crm.get("tasks", rid)
        assert isinstance(rec, Task)
        return rec

    def events(self) -> dict[str, dict[str, Any]]:
        # Every field, not only what crmsync reads (its services send selections.FIELDS).
        events = self.service.events()
        items = events.list(calendarId="primary", maxResults=2500, fields="*").execute().get("items") or []
        return {str(e["summary"]): e for e in items}

    def calls(self) -> int:
        return sum(self.emulator.state.counters.get(EMAIL, {}).values())


def test_first_sync_puts_dated_tasks_in_the_calendar_and_a_quiet_sync_is_one_request(emulator: Any) -> None:
    w = World(emulator)
    w.add(title="Call back", due="2026-11-25T16:30:00+01:00", notes="ask for the PO")
    w.add(title="Send offer", due="2026-11-26", status="completed", completed_at="2026-11-20T09:00:00Z")
    w.add(title="Someday")  # no due date: stays in the CRM
    meeting = {"summary": "Lunch", "start": {"date": "2026-11-25"}, "end": {"date": "2026-11-26"}}
    w.service.events().insert(calendarId="primary", body=meeting).execute()  # not a task: left alone
    first = w.sync()
    assert first.writes == {"google.create": 2}
    assert first.errors == []
    events = w.events()
    assert set(events) == {"Call back", "✓ Send offer", "Lunch"}
    call = events["Call back"]
    assert (call["start"], call["end"]) == ({"date": "2026-11-25"}, {"date": "2026-11-26"})
    assert call["description"] == "ask for the PO"
    assert call["transparency"] == "transparent"
    assert w.sync().writes == {}  # our inserts echo back as no change
    before = w.calls()
    quiet = w.sync()
    assert quiet.writes == {}
    assert quiet.listed["google"] == 0
    assert w.calls() - before == 1  # one events.list with the sync token
    assert len(w.crm.changes("tasks", None).items) == 3  # nothing was created in the CRM


def test_calendar_edits_reach_the_crm_keeping_its_due_time(emulator: Any) -> None:
    w = World(emulator)
    rid = w.add(title="Call back", due="2026-11-25T16:30:00+01:00")
    w.sync()
    ev = w.events()["Call back"]
    body = {"summary": "✓ Call back Bob", "start": {"date": "2026-11-27"}, "end": {"date": "2026-11-28"}}
    w.service.events().patch(calendarId="primary", eventId=ev["id"], body=body).execute()
    report = w.sync()
    assert report.writes == {"crm.update": 1}
    rec = w.task(rid)
    assert (rec.title, rec.due, rec.status) == ("Call back Bob", "2026-11-27T16:30:00+01:00", "completed")
    assert rec.completed_at is not None  # stamped by the CRM: Google knows no completion instant
    assert w.sync().writes == {}  # no phantom change once both sides agree
    w.crm.update("tasks", rid, {"status": "open", "completed_at": None}, w.task(rid).version)
    assert w.sync().writes == {"google.update": 1}
    assert set(w.events()) == {"Call back Bob"}
    assert w.sync().writes == {}


def test_a_retried_insert_links_via_409_and_a_deleted_event_is_revived(emulator: Any) -> None:
    w = World(emulator)
    rid = w.add(title="Call back", due="2026-11-25")
    canon = w.engine().crm.get([rid])[rid].canon
    assert canon is not None
    op = WriteOp(rid, None, canon, canon, crm_id=rid)
    first, again = w.google.create([op])[0], w.google.create([op])[0]  # the second insert meets 409
    assert first.ok
    assert again.ok
    assert (again.id, again.canon) == (first.id, canon)
    report = w.sync()  # the lost link is found through the CRM id the event carries
    assert report.writes == {}
    assert len(w.events()) == 1
    assert w.links.count_links(Kind.TASKS) == 1
    w.service.events().delete(calendarId="primary", eventId=str(first.id)).execute()
    revived = w.google.create([op])[0]  # e.g. a delete conflict that keeps the CRM edit
    assert (revived.ok, revived.id) == (True, first.id)
    assert w.events()["Call back"]["status"] == "confirmed"


def test_an_expired_sync_token_relists_without_duplicates_and_deletes_flow(emulator: Any) -> None:
    w = World(emulator)
    keep, gone = w.add(title="Keep", due="2026-11-25"), w.add(title="Gone", due="2026-11-26")
    w.sync()
    expire_sync_tokens(emulator.state.account(EMAIL), emulator.state)
    report = w.sync()
    assert report.full
    assert report.writes == {}
    w.service.events().delete(calendarId="primary", eventId=w.events()["Gone"]["id"]).execute()
    assert w.sync().writes == {"crm.delete": 1}
    assert w.crm.get_many("tasks", [gone]) == []
    assert w.task(keep).title == "Keep"
