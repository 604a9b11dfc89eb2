"""The task sync end to end on fakes: the CRM connector's in-memory fake (the reference
CRM's semantics) behind ``CrmTasks``, and a fake Google side holding canonical tasks."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from crmsync.crm.fake import FakeCrm
from crmsync.crm.models import Task
from crmsync.crm.tasks_side import CrmTasks
from crmsync.model.kinds import Kind
from crmsync.model.settings import ConflictPolicy, DeleteRule, KindSettings, SideRules
from crmsync.model.task import canonical_task, match_keys
from crmsync.ports import OpCounter
from crmsync.store.memory import MemoryStore
from crmsync.sync.engine import KindReport, KindSync
from tests.support.fakes import FakeSide

pytestmark = pytest.mark.unit
TRICKY = {
    t["key"]: t
    for t in json.loads((Path(__file__).parents[3] / "infra/crm/data/tricky_records.json").read_text())["tasks"]
}


def crm_body(rec: dict[str, Any]) -> dict[str, Any]:
    """A tricky task in the CRM contract's shape."""
    body = {k: rec[k] for k in ("title", "notes", "due", "status") if k in rec}
    return {**body, "owner_id": "u1"}


class World:
    def __init__(self, settings: KindSettings | None = None) -> None:
        self.crm = FakeCrm()
        self.crm.add_user("anna@corp.example", "Anna", user_id="u1")
        self.google = FakeSide(Kind.TASKS, prefix="gt")
        self.store = MemoryStore()
        self.links = self.store.connection_store("conn1")
        self.settings = settings or KindSettings(google_group=None)
        self.counter = OpCounter()
        self._n = 0

    def sync(self, **kw: Any) -> KindReport:
        side = CrmTasks(self.crm, "conn1", "u1", self.settings, self.counter)
        return KindSync(
            Kind.TASKS,
            side,
            self.google,
            self.links,
            self.settings,
            clock=lambda: datetime(2026, 11, 22, tzinfo=UTC),
            match_keys=match_keys,
            **kw,
        ).run()

    def add_crm(self, body: dict[str, Any]) -> str:
        self._n += 1
        return self.crm.create("tasks", {"owner_id": "u1", **body}, f"k{self._n}").id

    def task(self, rid: str) -> Task:
        rec = self.crm.get("tasks", rid)
        assert isinstance(rec, Task)
        return rec

    def edit_crm(self, rid: str, **patch: Any) -> None:
        self.crm.update("tasks", rid, patch, self.task(rid).version)


def test_tricky_tasks_first_sync_then_silence() -> None:
    w = World()
    for rec in TRICKY.values():
        w.add_crm(crm_body(rec))
    report = w.sync()
    assert report.writes == {"google.create": 4}
    assert report.complete
    by_title = {r.canon["title"]: r.canon for r in w.google.records.values()}
    assert by_title["Call back"]["due_date"] == "2026-11-25"  # t01: the date only
    assert by_title["Someday"]["due_date"] is None  # t02
    assert by_title["Send offer"]["status"] == "completed"  # t03
    assert by_title["Prepare demo"]["notes"] == "steps:\n1. data\n2. slides\nhttps://example.com/x"  # t04
    assert w.sync().writes == {}  # our creates echo once
    assert w.sync().listed == {"google": 0, "crm": 0}


def test_t01_due_moved_in_google_keeps_the_crm_time() -> None:
    w = World()
    cid = w.add_crm(crm_body(TRICKY["t01"]))
    w.sync()
    [gid] = list(w.google.records)
    w.google.edit(gid, due_date="2026-11-27")
    report = w.sync()
    assert report.writes == {"crm.update": 1}
    assert w.task(cid).due == "2026-11-27T16:30:00+01:00"
    assert w.sync().writes == {}


def test_t01_unrelated_google_edit_never_touches_the_crm_due() -> None:
    w = World()
    cid = w.add_crm(crm_body(TRICKY["t01"]))
    w.sync()
    [gid] = list(w.google.records)
    w.google.edit(gid, title="Call back Anna")
    w.sync()
    rec = w.task(cid)
    assert (rec.title, rec.due) == ("Call back Anna", "2026-11-25T16:30:00+01:00")


def test_t02_due_set_in_google_is_a_plain_date_in_the_crm() -> None:
    w = World()
    cid = w.add_crm(crm_body(TRICKY["t02"]))
    w.sync()
    [gid] = list(w.google.records)
    w.google.edit(gid, due_date="2026-12-01")
    w.sync()
    assert w.task(cid).due == "2026-12-01"


def test_t03_completed_in_google_while_edited_in_the_crm_keeps_both() -> None:
    w = World()
    cid = w.add_crm({**crm_body(TRICKY["t03"]), "status": "open"})
    w.sync()
    [gid] = list(w.google.records)
    w.google.edit(gid, status="completed", completed="2026-11-21T09:15:00Z")
    w.edit_crm(cid, notes="attach the price list")
    report = w.sync()
    assert report.conflicts == []
    rec = w.task(cid)
    assert (rec.status, rec.completed_at, rec.notes) == ("completed", "2026-11-21T09:15:00Z", "attach the price list")
    assert w.google.records[gid].canon["notes"] == "attach the price list"
    assert w.sync().writes == {}


def test_reopened_in_the_crm_reopens_in_google() -> None:
    w = World()
    cid = w.add_crm({"title": "Send offer", "status": "completed"})
    w.sync()
    [gid] = list(w.google.records)
    assert w.google.records[gid].canon["completed"] is not None
    w.edit_crm(cid, status="open")
    w.sync()
    assert w.google.records[gid].canon | {} == {
        **w.google.records[gid].canon,
        "status": "needs_action",
        "completed": None,
    }


def test_first_sync_matches_unique_title_and_due_only() -> None:
    w = World()
    w.add_crm({"title": "Call back", "due": "2026-11-25T16:30:00+01:00"})
    w.add_crm({"title": "Follow up"})
    w.add_crm({"title": "Follow up"})
    w.google.put(canonical_task({"title": "call  back", "due": "2026-11-25"}))
    w.google.put(canonical_task({"title": "Follow up"}))
    report = w.sync()
    # "Call back" pairs (Google's title spelling is aligned); "Follow up" is shared by two CRM
    # tasks that nothing else tells apart: nothing merges silently, and nothing is copied either
    # (issue 13: each copy was a duplicate, on both sides).
    assert report.writes == {"google.update": 1}
    assert sum("ambiguous: 'Follow up'" in n for n in report.notes) == 3
    assert len(w.google.records) == 2


def test_regression_tasks_sharing_a_first_sync_key_are_paired_by_their_other_fields_or_never_copied() -> None:
    w = World()
    a = w.add_crm({"title": "Call back", "due": "2026-11-25", "notes": "Anna"})
    b = w.add_crm({"title": "Call back", "due": "2026-11-25", "notes": "Ben"})
    w.add_crm({"title": "Send offer", "due": "2026-11-26", "notes": "x"})
    w.add_crm({"title": "Send offer", "due": "2026-11-26", "notes": "y"})
    ga = w.google.put(canonical_task({"title": "Call back", "due": "2026-11-25", "notes": "Anna"}))
    gb = w.google.put(canonical_task({"title": "Call back", "due": "2026-11-25", "notes": "Ben"}))
    w.google.put(canonical_task({"title": "Send offer", "due": "2026-11-26", "notes": "z"}))
    report = w.sync()
    assert report.writes == {}, "an ambiguous task was copied (a duplicate on the other side)"
    pairs = {(lk.crm_id, lk.google_id) for lk in w.links.all_links(Kind.TASKS)}
    assert pairs == {(a, ga), (b, gb)}  # the notes decide
    ambiguous = sorted(n for n in report.notes if "ambiguous" in n)
    assert len(ambiguous) == 3 and all("'Send offer'" in n for n in ambiguous)
    assert len(w.google.records) == 3


def test_google_delete_deletes_in_the_crm_and_crm_delete_in_google() -> None:
    w = World()
    a, b = w.add_crm({"title": "A"}), w.add_crm({"title": "B"})
    w.sync()
    ga = next(i for i, r in w.google.records.items() if r.canon["title"] == "A")
    w.google.remove(ga)
    w.crm.delete("tasks", b, w.task(b).version)
    report = w.sync()
    assert report.writes == {"google.delete": 1, "crm.delete": 1}
    assert w.google.records == {}
    with pytest.raises(Exception, match="404"):
        w.task(a)


def test_unlink_only_rule_keeps_the_crm_task() -> None:
    w = World(KindSettings(google_group=None, crm=SideRules(delete=DeleteRule.UNLINK_ONLY)))
    a = w.add_crm({"title": "A"})
    w.sync()
    w.google.remove(next(iter(w.google.records)))
    assert w.sync().writes == {}
    assert w.task(a).title == "A"


def test_conflicting_titles_follow_the_policy_and_are_reported() -> None:
    w = World(KindSettings(google_group=None, conflict_policy=ConflictPolicy.GOOGLE_WINS))
    cid = w.add_crm({"title": "A"})
    w.sync()
    gid = next(iter(w.google.records))
    w.edit_crm(cid, title="A (crm)")
    w.google.edit(gid, title="A (google)")
    report = w.sync()
    assert [c["field"] for c in report.conflicts] == ["title"]
    assert w.task(cid).title == "A (google)"


def test_crm_side_reads_the_due_time_once_for_records_it_did_not_list() -> None:
    w = World()
    ids = [w.add_crm({"title": f"T{i}", "due": "2026-11-25T09:00:00-05:00"}) for i in range(3)]
    w.sync()
    for gid in list(w.google.records):
        w.google.edit(gid, due_date="2026-12-24")
    before = dict(w.counter.counts)
    w.sync()
    spent = {k: v - before.get(k, 0) for k, v in w.counter.counts.items()}
    assert spent == {"crm.changes": 1, "crm.get_many": 1, "crm.bulk": 1}
    assert {w.task(i).due for i in ids} == {"2026-12-24T09:00:00-05:00"}
