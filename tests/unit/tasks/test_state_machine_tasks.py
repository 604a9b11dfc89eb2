"""A Hypothesis state machine for the task sync: the real ``GoogleTasks`` adapter on the
Google emulator (date-only due, completion stamps, hidden on clear, deleted tombstones,
``updatedMin`` listings, no conditional writes, creation intents) and ``CrmTasks`` on the
CRM fake; random creates, edits, completions, re-openings, due moves and deletes on both
sides, conflicting edits, injected 503s, lost replies and worker crashes mid-apply. After
two quiet syncs both sides agree, nothing is duplicated, links are one-to-one, no edit is
lost (unless superseded, resolved in a recorded conflict or deleted afterwards) and a CRM
due time survives Google moving the date. Example counts come from the Hypothesis profile."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from crmsync.google import tasks_custom
from crmsync.model.settings import ConflictPolicy, KindSettings
from crmsync.sync.engine import KindReport
from tests.support.machines import machine_settings, realistic_settings
from tests.support.oracle import EditLog
from tests.unit.tasks.machine_tasks_support import (
    MAPPED,
    PRIORITIES,
    PRIORITY,
    TaskWorld,
    check_pairs,
    converge,
    sync_once,
)

pytestmark = pytest.mark.unit
MAX_RECORDS = 4
FIELDS = ("title", "notes", "due_date", "status", "completed", PRIORITY)
# Titles differ per side so that two tasks the user made separately never pair by title + due.
TITLES = {"crm": ("Call back", "Send offer", "Prepare demo"), "google": ("Book room", "Pay invoice")}
NOTES = (None, "bring the contract", "steps:\n1. data\n2. slides")
CRM_DUES = (None, "2026-11-25", "2026-11-25T16:30:00+01:00", "2026-11-27T09:00:00-05:00", "2026-12-01T23:30:00+09:00")
GOOGLE_DATES = (None, "2026-11-25", "2026-11-27", "2026-12-01")
DONE_AT = ("2026-11-20T10:00:00Z", "2026-11-21T09:15:00Z")


def time_of(due: str | None) -> str | None:
    """The time-and-offset part of a CRM due (None for a plain date)."""
    return due[10:] if due and len(due) > 10 else None


def google_due(day: str | None) -> str | None:
    return f"{day}T00:00:00.000Z" if day else None


class TaskSyncMachine(RuleBasedStateMachine):
    """A CRM, Google Tasks, a user editing both, a flaky network, a mortal worker."""

    def __init__(self) -> None:
        super().__init__()
        self.world = TaskWorld()
        self.model = EditLog(FIELDS)
        self.crm_time: dict[str, str | None] = {}  # the due time the user last gave each CRM task

    @initialize(
        policy=st.sampled_from(list(ConflictPolicy)),
        crm=st.lists(st.tuples(st.sampled_from(TITLES["crm"]), st.sampled_from(CRM_DUES)), max_size=3),
        google=st.lists(st.tuples(st.sampled_from(TITLES["google"]), st.sampled_from(GOOGLE_DATES)), max_size=2),
    )
    def configure(
        self, policy: ConflictPolicy, crm: list[tuple[str, str | None]], google: list[tuple[str, str | None]]
    ) -> None:
        """The settings, and a synced starting point (so that most steps edit linked pairs)."""
        self.world.settings = KindSettings(google_group=None, conflict_policy=policy, max_delete_floor=1000)
        for title, due in crm:
            self.crm_create(title, None, due, None)
        for title, day in google:
            self.google_create(title, None, day, False)
        if crm or google:
            self._settle_and_check()

    # ------------------------------------------------------------ helpers

    @staticmethod
    def _pick(ids: list[str], index: int) -> str:
        return sorted(ids)[index % len(ids)]

    def _crm_change(self, rid: str, patch: dict[str, Any]) -> None:
        before = self.world.crm_live()[rid]
        self.world.crm_update(rid, patch)
        self.model.edited(("crm", rid), before, self.world.crm_live()[rid])
        if "due" in patch:
            self.crm_time[rid] = time_of(patch["due"])

    def _google_change(self, tid: str, body: dict[str, Any]) -> None:
        before = self.world.google_live()[tid]
        self.world.google_patch(tid, body)
        self.model.edited(("google", tid), before, self.world.google_live()[tid])

    # ------------------------------------------------------------ the user, in the CRM

    @precondition(lambda self: len(self.world.crm_records()) < MAX_RECORDS)
    @rule(
        title=st.sampled_from(TITLES["crm"]),
        notes=st.sampled_from(NOTES),
        due=st.sampled_from(CRM_DUES),
        done=st.sampled_from([None, *DONE_AT]),
    )
    def crm_create(self, title: str, notes: str | None, due: str | None, done: str | None) -> None:
        body = {"title": title, "notes": notes, "due": due, "status": "completed" if done else "open"}
        rid = self.world.crm_create({**body, "completed_at": done})
        self.crm_time[rid] = time_of(due)
        self.model.created(("crm", rid), self.world.crm_live()[rid])

    @precondition(lambda self: bool(self.world.crm_records()))
    @rule(index=st.integers(0, 9), data=st.data())
    def crm_edit(self, index: int, data: st.DataObject) -> None:
        rid = self._pick(list(self.world.crm_records()), index)
        patch = data.draw(
            st.one_of(
                st.builds(lambda v: {"title": v}, st.sampled_from(TITLES["crm"])),
                st.builds(lambda v: {"notes": v}, st.sampled_from(NOTES)),
                st.builds(lambda v: {"due": v}, st.sampled_from(CRM_DUES)),
                st.builds(lambda v: {"status": "completed", "completed_at": v}, st.sampled_from(DONE_AT)),
                st.just({"status": "open", "completed_at": None}),
            ),
            label="patch",
        )
        self._crm_change(rid, patch)

    @precondition(lambda self: bool(self.world.crm_records()))
    @rule(index=st.integers(0, 9))
    def crm_delete(self, index: int) -> None:
        crm = self.world.crm_live()
        rid = self._pick(list(crm), index)
        self.world.crm_delete(rid)
        self.model.removed(("crm", rid), crm[rid])

    # ------------------------------------------------------------ the user, in Google

    @precondition(lambda self: len(self.world.google_tasks()) < MAX_RECORDS)
    @rule(
        title=st.sampled_from(TITLES["google"]),
        notes=st.sampled_from(NOTES),
        day=st.sampled_from(GOOGLE_DATES),
        done=st.booleans(),
    )
    def google_create(self, title: str, notes: str | None, day: str | None, done: bool) -> None:
        body: dict[str, Any] = {"title": title, "status": "completed" if done else "needsAction"}
        if notes:
            body["notes"] = notes
        if day:
            body["due"] = google_due(day)
        tid = self.world.google_insert(body)
        self.model.created(("google", tid), self.world.google_live()[tid])

    @precondition(lambda self: bool(self.world.google_tasks()))
    @rule(index=st.integers(0, 9), data=st.data())
    def google_edit(self, index: int, data: st.DataObject) -> None:
        ids = self.world.google_ids()
        tid = ids[index % len(ids)]
        body = data.draw(
            st.one_of(
                st.builds(lambda v: {"title": v}, st.sampled_from(TITLES["google"])),
                st.builds(lambda v: {"notes": v}, st.sampled_from(NOTES)),
                st.builds(lambda v: {"due": google_due(v)}, st.sampled_from(GOOGLE_DATES)),
                st.just({"status": "completed"}),  # Google stamps the completion time
                st.just({"status": "needsAction", "completed": None}),
            ),
            label="body",
        )
        self._google_change(tid, body)

    @precondition(lambda self: bool(self.world.all_links()))
    @rule(index=st.integers(0, 9), day=st.sampled_from(GOOGLE_DATES[1:]))
    def google_move_due(self, index: int, day: str) -> None:
        """The user drags a synced task to another day in Google (the CRM keeps its time of day)."""
        link = sorted(self.world.all_links(), key=lambda lk: lk.crm_id)[index % len(self.world.all_links())]
        if link.google_id in self.world.google_tasks():
            self._google_change(link.google_id, {"due": google_due(day)})

    @precondition(lambda self: bool(self.world.google_tasks()))
    @rule()
    def google_clear_completed(self) -> None:
        """Hides every completed task: not a change of any synced field, and never a deletion."""
        self.world.google_clear()

    @precondition(lambda self: bool(self.world.google_tasks()))
    @rule(index=st.integers(0, 9))
    def google_delete(self, index: int) -> None:
        google = self.world.google_live()
        ids = self.world.google_ids()
        tid = ids[index % len(ids)]
        self.world.google_delete(tid)
        self.model.removed(("google", tid), google[tid])

    @precondition(lambda self: bool(self.world.crm_records()))
    @rule(index=st.integers(0, 9), value=st.sampled_from(PRIORITIES))
    def crm_priority(self, index: int, value: str | None) -> None:
        rid = self._pick(list(self.world.crm_records()), index)
        self._crm_change(rid, {"custom_fields": {"priority": value}})

    @precondition(lambda self: bool(self.world.google_tasks()))
    @rule(index=st.integers(0, 9), value=st.sampled_from(PRIORITIES))
    def google_priority(self, index: int, value: str | None) -> None:
        """The user edits the task's "Priority: …" line in Google (or deletes it)."""
        ids = self.world.google_ids()
        tid = ids[index % len(ids)]
        self._google_change(tid, {"notes": self._notes_with(tid, value)})

    def _notes_with(self, tid: str, value: str | None) -> str | None:
        return tasks_custom.join({**self.world.google_live()[tid], PRIORITY: value}, MAPPED)

    # ------------------------------------------------------------ both at once

    @precondition(lambda self: bool(self.world.all_links()))
    @rule(index=st.integers(0, 9), data=st.data())
    def conflicting_edit(self, index: int, data: st.DataObject) -> None:
        link = sorted(self.world.all_links(), key=lambda lk: lk.crm_id)[index % len(self.world.all_links())]
        if link.crm_id not in self.world.crm_records() or link.google_id not in self.world.google_tasks():
            return
        which = data.draw(st.sampled_from(["title", "notes", "due", "done", "priority"]), label="field")
        if which == "title":
            self._crm_change(link.crm_id, {"title": data.draw(st.sampled_from(TITLES["crm"]))})
            self._google_change(link.google_id, {"title": data.draw(st.sampled_from(TITLES["google"]))})
        elif which == "notes":
            a, b = data.draw(st.lists(st.sampled_from(NOTES), min_size=2, max_size=2, unique=True))
            self._crm_change(link.crm_id, {"notes": a})
            self._google_change(link.google_id, {"notes": b})
        elif which == "due":
            self._crm_change(link.crm_id, {"due": data.draw(st.sampled_from(CRM_DUES))})
            self._google_change(link.google_id, {"due": google_due(data.draw(st.sampled_from(GOOGLE_DATES)))})
        elif which == "priority":
            a, b = data.draw(st.lists(st.sampled_from(PRIORITIES[1:]), min_size=2, max_size=2, unique=True))
            self._crm_change(link.crm_id, {"custom_fields": {"priority": a}})
            self._google_change(link.google_id, {"notes": self._notes_with(link.google_id, b)})
        else:  # completed on both sides, at different instants
            self._crm_change(link.crm_id, {"status": "completed", "completed_at": DONE_AT[0]})
            self._google_change(link.google_id, {"status": "completed"})

    # ------------------------------------------------------------ the network and the runtime

    @rule(
        fault=st.one_of(
            st.tuples(st.just("fail"), st.sampled_from(["batch", "list", "get", "other"]), st.integers(1, 6)),
            st.tuples(st.just("lost"), st.sampled_from(["batch", "list"]), st.just(1)),
            st.tuples(st.just("crash"), st.just("google"), st.integers(0, 4)),
            st.tuples(
                st.just("crm"), st.sampled_from(["changes", "get_many", "bulk", "bulk_lost", "bulk_crash"]), st.just(1)
            ),
        )
    )
    def inject_fault(self, fault: tuple[str, str, int]) -> None:
        """503s (absorbed by retries, or not), a lost reply, a worker crash after n Google requests, CRM faults."""
        kind, what, n = fault
        if kind == "fail":
            self.world.http.fail.extend([what] * n)
        elif kind == "lost":
            self.world.http.lost.append(what)
        elif kind == "crash":
            self.world.http.crash_after = n
        else:
            self.world.flaky.fail.append(what)

    @rule()
    def sync(self) -> None:
        run, report = sync_once(self.world, self.model)
        self._observe(run, report)
        self.world.later()

    @rule()
    def settle(self) -> None:
        self._settle_and_check()

    # ------------------------------------------------------------ checks

    def _observe(self, run: int, report: KindReport | None) -> None:
        self.model.observe(run, report, self.world)
        for rid, rec in self.world.crm_records().items():
            if rec.due is None:
                self.crm_time[rid] = None  # cleared (by the user or the sync): a time is gone for good

    @invariant()
    def links_are_one_to_one(self) -> None:
        links = self.world.all_links()
        assert len({lk.google_id for lk in links}) == len(links) == len({lk.crm_id for lk in links})

    def teardown(self) -> None:
        self._settle_and_check()

    def _settle_and_check(self) -> None:
        w = self.world
        w.clear_failures()

        def seen(report: KindReport) -> None:
            self._observe(self.model.runs, report)
            self.model.runs += 1

        converge(w, seen)
        links = check_pairs(w, self.model, w.crm_live(), w.google_live())
        records = w.crm_records()
        for lk in links:
            if self.model.conflicted(("crm", lk.crm_id), "due_date"):
                continue
            due = records[lk.crm_id].due
            assert time_of(due) == self.crm_time.get(lk.crm_id), (
                f"CRM task {lk.crm_id} has due {due!r}; the user gave it the time {self.crm_time.get(lk.crm_id)!r}"
            )


TestTaskSync = TaskSyncMachine.TestCase
TestTaskSync.settings = machine_settings(20)


class RealisticTaskSyncMachine(TaskSyncMachine):
    """The same machine on the emulator's ``realistic`` profile (short and empty pages in every
    listing, Google's occurrence rules; infra/google_emulator/realism.py)."""

    def __init__(self) -> None:
        super().__init__()
        self.world = TaskWorld(profile="realistic")


TestTaskSyncRealistic = RealisticTaskSyncMachine.TestCase
# Half the profile's examples: every listing here takes several (short) pages, so each costs more.
TestTaskSyncRealistic.settings = realistic_settings(TestTaskSync.settings)
