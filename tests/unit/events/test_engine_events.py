"""The event sync on fakes: the CRM connector's in-memory fake behind ``CrmEvents`` and a fake Google side."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from crmsync.crm.activity_shape import activity_raw, time_body
from crmsync.crm.events_side import CrmEvents
from crmsync.crm.fake import FakeCrm
from crmsync.model.event import EventOptions, canonical_event, match_keys
from crmsync.model.kinds import Kind
from crmsync.model.settings import KindSettings
from crmsync.store.memory import MemoryStore
from crmsync.sync.engine import KindReport, KindSync
from tests.support.fakes import FakeSide

pytestmark = pytest.mark.unit
TRICKY = json.loads((Path(__file__).parents[3] / "infra/crm/data/tricky_records.json").read_text())
NOW = datetime(2026, 10, 15, 8, 0, tzinfo=UTC)


def body(rec: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"subject": rec["subject"], "owner_id": "u1", "private": bool(rec.get("private"))}
    if rec.get("all_day"):
        out.update(all_day=True, start_date=rec["start_date"], end_date=rec["end_date_inclusive"])
    else:
        out.update(start=rec["start"], end=rec["end"], time_zone=rec["tz"])
    if rec.get("rrule"):
        out["recurrence"] = {"rrule": rec["rrule"], "exdates": rec.get("exdates", [])}
    out["exceptions"] = [
        {"original_start": m["original"], "start": m["start"], "end": m["end"]} for m in rec.get("moved", [])
    ]
    out["attendees"] = [{"email": e} for e in rec.get("attendees", [])]
    return out


class World:
    def __init__(self, options: EventOptions | None = None, organizer_syncs: Any = None) -> None:
        self.crm = FakeCrm()
        self.crm.add_user("anna@corp.example", "Anna", user_id="u1")
        self.crm.add_user("ben@corp.example", "Ben", user_id="u2")
        self.google = FakeSide(Kind.EVENTS, prefix="ev")
        self.links = MemoryStore().connection_store("conn1")
        self.settings = KindSettings(google_group=None)
        self.options = options or EventOptions()
        self.organizer_syncs = organizer_syncs
        self.now = NOW
        self.n = 0

    def side(self) -> CrmEvents:
        return CrmEvents(
            self.crm,
            "conn1",
            "u1",
            self.settings,
            self.options,
            clock=lambda: self.now,
            organizer_syncs=self.organizer_syncs,
        )

    def sync(self) -> KindReport:
        return KindSync(
            Kind.EVENTS,
            self.side(),
            self.google,
            self.links,
            self.settings,
            clock=lambda: self.now,
            match_keys=match_keys,
            full_every=timedelta(days=1),  # as the events wiring sets it
        ).run()

    def crm_ids(self) -> list[str]:
        return [c.id for c in self.crm.changes("activities", None).items if c.record is not None]

    def add(self, data: dict[str, Any]) -> str:
        self.n += 1
        return self.crm.create("activities", data, f"k{self.n}").id


def test_every_tricky_activity_round_trips_through_the_crm_shape() -> None:
    """a01-a09: CRM record -> canon -> CRM time fields -> canon again is the identity."""
    crm = FakeCrm()
    crm.add_user("anna@corp.example", "Anna", user_id="u1")
    for i, rec in enumerate(TRICKY["activities"]):
        made = crm.create("activities", body(rec), f"k{i}")
        canon = canonical_event(activity_raw(made, "anna@corp.example"))
        again = crm.update("activities", made.id, time_body(canon), made.version)
        assert canonical_event(activity_raw(again, "anna@corp.example")) == canon, rec["key"]


def test_first_sync_respects_window_then_the_far_event_enters_with_the_daily_full_listing() -> None:
    w = World()
    ids = {r["key"]: w.add(body(r)) for r in TRICKY["activities"]}
    report = w.sync()
    assert report.writes == {"google.create": 7}
    assert report.notes == []  # a06 and a08 lie outside the window: not created, and no noise per record
    w.now += timedelta(hours=1)
    quiet = w.sync()
    assert (quiet.writes, quiet.full) == ({}, False)  # incremental within the day
    w.now = NOW + timedelta(days=120)  # a08 (2027-12-31) is now less than 365 days ahead; nobody edited it
    entered = w.sync()
    assert (entered.writes, entered.full) == ({"google.create": 1}, True)
    assert any(r.hint == ids["a08"] for r in w.google.records.values())
    w.now += timedelta(hours=1)
    assert w.sync().full is False  # the next full listing is a day later


def test_a_linked_event_leaving_the_window_still_syncs_and_is_not_deleted() -> None:
    w = World()
    aid = w.add(body(TRICKY["activities"][4]))
    w.sync()
    w.sync()
    rec = w.crm.get("activities", aid)
    w.crm.update("activities", aid, {"start": "2028-06-01T10:00:00", "end": "2028-06-01T11:00:00"}, rec.version)
    report = w.sync()
    assert report.writes == {"google.update": 1}  # moved out of the window: the linked copy follows
    assert len(w.google.records) == 1


def test_hidden_private_and_foreign_organised_activities_stay_out() -> None:
    w = World(EventOptions(private_activities="skip"), organizer_syncs=lambda email: email == "ben@corp.example")
    base = body(TRICKY["activities"][4])
    w.add({**base, "subject": "hidden", "show_in_calendar": False})
    w.add({**base, "subject": "secret", "private": True})
    w.add({**base, "subject": "Ben's meeting", "organizer_email": "ben@corp.example"})
    w.add({**base, "subject": "Carl's meeting", "organizer_email": "carl@partner.example"})
    w.add({**base, "subject": "mine"})
    w.sync()
    assert sorted(r.canon["subject"] for r in w.google.records.values()) == ["Carl's meeting", "mine"]


def test_a_google_event_matching_a_crm_activity_is_linked_not_duplicated() -> None:
    w = World()
    aid = w.add(body(TRICKY["activities"][4]))
    canon = canonical_event(activity_raw(w.crm.get("activities", aid), "anna@corp.example"))
    w.google.put({**canon, "location": "Zoom"})
    report = w.sync()
    assert report.writes == {"crm.update": 1}
    assert w.crm.get("activities", aid).location == "Zoom"
    assert len(w.google.records) == 1


def test_google_events_are_created_in_the_crm_with_participants_matched() -> None:
    w = World()
    canon = canonical_event(
        {
            "subject": "Kick-off",
            "start": {"local": "2026-11-05T10:00:00", "tz": "Europe/Berlin"},
            "end": {"local": "2026-11-05T11:00:00", "tz": "Europe/Berlin"},
            "organizer": "anna@corp.example",
            "attendees": [{"email": "Ben@corp.example", "response": "accepted"}, {"email": "x@partner.example"}],
        }
    )
    w.google.put(canon)
    assert w.sync().writes == {"crm.create": 1}
    [rec] = [w.crm.get("activities", i) for i in w.crm_ids()]
    assert {a.email: a.user_id for a in rec.attendees} == {"ben@corp.example": "u2", "x@partner.example": None}
    assert rec.owner_id == "u1"
    assert rec.show_in_calendar
    assert w.sync().writes == {}
