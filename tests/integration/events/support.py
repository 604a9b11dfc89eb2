"""Wiring the event sync against the in-process Google emulator and the CRM fake."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from crmsync.crm.events_side import CrmEvents
from crmsync.crm.fake import FakeCrm
from crmsync.google.calendar import GoogleCalendar
from crmsync.google.client import Endpoint, build_service
from crmsync.google.pacing import Pacer
from crmsync.model.event import EventOptions, match_keys
from crmsync.model.kinds import Kind
from crmsync.model.settings import KindSettings
from crmsync.ports import OpCounter
from crmsync.store.memory import MemoryStore
from crmsync.sync.engine import KindReport, KindSync
from infra.google_emulator.calendar import dump
from infra.google_emulator.core import SCOPE_CALENDAR
from tests.support.google import credentials

EMAIL = "anna@corp.example"
NOW = datetime(2026, 10, 15, 8, 0, tzinfo=UTC)
TRICKY = json.loads((Path(__file__).parents[3] / "infra/crm/data/tricky_records.json").read_text())


def activity_body(rec: dict[str, Any], owner: str = "u1") -> dict[str, Any]:
    """A tricky activity in the CRM contract's shape."""
    body: dict[str, Any] = {"subject": rec["subject"], "owner_id": owner, "private": bool(rec.get("private"))}
    if rec.get("all_day"):
        body.update(all_day=True, start_date=rec["start_date"], end_date=rec["end_date_inclusive"])
    else:
        body.update(start=rec["start"], end=rec["end"], time_zone=rec["tz"])
    if rec.get("rrule"):
        body["recurrence"] = {"rrule": rec["rrule"], "exdates": rec.get("exdates", [])}
    body["exceptions"] = [
        {"original_start": m["original"], "start": m["start"], "end": m["end"]} for m in rec.get("moved", [])
    ]
    body["attendees"] = [{"email": e} for e in rec.get("attendees", [])]
    return body


class World:
    """The CRM fake, the emulator's calendar, a link store and the engine."""

    def __init__(self, emulator: Any, options: EventOptions | None = None, **kw: Any) -> None:
        self.emulator = emulator
        emulator.state.clock.set(NOW, frozen=True)
        self.crm = FakeCrm()
        self.crm.add_user(EMAIL, "Anna", user_id="u1")
        self.options = options or EventOptions()
        self.settings = KindSettings(google_group=None, **kw)
        self.store = MemoryStore()
        self.links = self.store.connection_store("conn1")
        self.crm_counter, self.g_counter = OpCounter(), OpCounter()
        self.now = NOW
        self.added = 0
        self.pacer = Pacer(None, clock=lambda: emulator.state.clock.now().timestamp())
        creds = credentials(emulator.state, EMAIL, frozenset({SCOPE_CALENDAR}))
        endpoint = Endpoint(emulator.base_url, timeout=30)
        self.service = build_service("calendar", creds, endpoint)
        self.batch_uri = endpoint.batch_uri("calendar")
        self.google = self.google_side()

    def sleep(self, seconds: float) -> None:
        self.emulator.state.clock.advance(timedelta(seconds=seconds))

    def google_side(self) -> GoogleCalendar:
        return GoogleCalendar(
            self.service,
            self.batch_uri,
            connection_id="conn1",
            me=EMAIL,
            options=self.options,
            counter=self.g_counter,
            pacer=self.pacer,
            clock=lambda: self.now,
            sleep=self.sleep,
        )

    def engine(self, **kw: Any) -> KindSync:
        crm = CrmEvents(self.crm, "conn1", "u1", self.settings, self.options, self.crm_counter, clock=lambda: self.now)
        return KindSync(
            Kind.EVENTS,
            crm,
            self.google,
            self.links,
            self.settings,
            clock=lambda: self.now,
            match_keys=match_keys,
            **kw,
        )

    def sync(self, **kw: Any) -> KindReport:
        return self.engine(**kw).run()

    def add(self, body: dict[str, Any]) -> str:
        self.added += 1
        return self.crm.create("activities", body, f"k-{self.added}").id

    def activities(self) -> dict[str, Any]:
        page = self.crm.changes("activities", None, on_behalf_of="u1")
        return {c.id: c.record for c in page.items if c.record is not None}

    def events(self) -> list[dict[str, Any]]:
        resp = self.service.events().list(calendarId="primary", showDeleted=False, maxResults=2500).execute()
        return list(resp.get("items") or [])

    def stats(self) -> dict[str, Any]:
        return dict(self.emulator.state.counters.get(EMAIL, {}))

    def invitations(self) -> int:
        """Invitation e-mails the emulator counted for the account."""
        return int(dump(self.emulator.state.account(EMAIL), self.emulator.state)["invitationEmailsSent"])
