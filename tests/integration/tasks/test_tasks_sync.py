"""Task sync over the real Tasks wire protocol (the in-process Google emulator, the real
google-api-python-client) with the CRM fake behind ``CrmTasks``."""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from crmsync.crm.fake import FakeCrm
from crmsync.crm.models import Task
from crmsync.errors import TransientError
from crmsync.google.intents import Intent, MemoryIntentStore
from crmsync.model.link import Link
from crmsync.model.task import TaskOptions
from crmsync.store.memory import MemoryStore
from infra.google_emulator.tasks import seed
from tests.integration.tasks.tasks_support import EMAIL, TaskWorld, server_calls, tasks_service

pytestmark = pytest.mark.integration
TRICKY = {
    t["key"]: t
    for t in json.loads((Path(__file__).parents[3] / "infra/crm/data/tricky_records.json").read_text())["tasks"]
}


def new_world(emulator: Any, **kw: Any) -> TaskWorld:
    crm = FakeCrm()
    crm.add_user("anna@corp.example", "Anna", user_id="u1")
    return TaskWorld(emulator, crm, MemoryStore().connection_store("conn1"), **kw)


def add_crm(w: TaskWorld, body: dict[str, Any]) -> str:
    return w.crm.create("tasks", {"owner_id": "u1", **body}, f"k-{body['title']}-{len(str(body))}").id


def crm_task(w: TaskWorld, rid: str) -> Task:
    rec = w.crm.get("tasks", rid)
    assert isinstance(rec, Task)
    return rec


def by_title(w: TaskWorld) -> dict[str, dict[str, Any]]:
    return {t["title"]: t for t in w.google_tasks().values()}


def crm_list(w: TaskWorld) -> str:
    lists = tasks_service(w.emulator).tasklists().list().execute()["items"]
    return str(next(li["id"] for li in lists if li["title"] == "CRM"))


def synced(w: TaskWorld, **kw: Any) -> dict[str, int]:
    """One run after the scheduler's interval; the emulator's calls it made."""
    w.later()
    before = server_calls(w.emulator)
    report = w.sync(**kw)
    assert report.complete, report.as_dict()
    return {k: v - before.get(k, 0) for k, v in server_calls(w.emulator).items() if v != before.get(k, 0)}


def test_tricky_tasks_round_trip_and_a_quiet_run_is_one_request(emulator: Any) -> None:
    w = new_world(emulator)
    for rec in TRICKY.values():
        add_crm(w, {k: rec[k] for k in ("title", "notes", "due", "status") if k in rec})
    first = synced(w)
    assert first["tasks.tasks.insert"] == 4
    assert first["batch"] == 1
    g = by_title(w)
    assert g["Call back"]["due"] == "2026-11-25T00:00:00.000Z"  # t01
    assert "due" not in g["Someday"]  # t02
    assert g["Send offer"]["status"] == "completed"  # t03
    assert g["Prepare demo"]["notes"] == "steps:\n1. data\n2. slides\nhttps://example.com/x"  # t04
    assert synced(w) == {
        "tasks.tasks.list": 1,
        "tasks.tasklists.list": 1,
    }  # echoes; the CRM list id is now in the token
    crm_before = w.crm.calls
    assert synced(w) == {"tasks.tasks.list": 1}
    assert w.crm.calls - crm_before == 1


def test_t01_due_moved_in_google_keeps_the_crm_time(emulator: Any) -> None:
    w = new_world(emulator)
    cid = add_crm(w, {"title": "Call back", "due": "2026-11-25T16:30:00+01:00"})
    synced(w)
    [task] = w.google_tasks().values()
    tasks_service(emulator).tasks().patch(
        tasklist=crm_list(w), task=task["id"], body={"due": "2026-11-27T00:00:00.000Z"}
    ).execute()
    synced(w)
    assert crm_task(w, cid).due == "2026-11-27T16:30:00+01:00"
    assert synced(w) == {"tasks.tasks.list": 1}  # the CRM write echoes as no change


def test_t03_completed_and_hidden_in_google_while_edited_in_the_crm(emulator: Any) -> None:
    w = new_world(emulator)
    cid = add_crm(w, {"title": "Send offer", "due": "2026-11-26"})
    synced(w)
    [task] = w.google_tasks().values()
    svc, lid = tasks_service(emulator), crm_list(w)
    svc.tasks().patch(tasklist=lid, task=task["id"], body={"status": "completed"}).execute()
    svc.tasks().clear(tasklist=lid).execute()  # cleared: hidden, like tasks completed in Google's apps
    w.crm.update("tasks", cid, {"notes": "with the price list"}, crm_task(w, cid).version)
    synced(w)
    rec = crm_task(w, cid)
    assert (rec.status, rec.notes, rec.due) == ("completed", "with the price list", "2026-11-26")
    assert rec.completed_at is not None
    now = w.google_tasks()[task["id"]]
    assert now["hidden"] is True
    assert now["notes"] == "with the price list"
    assert now["status"] == "completed"


def test_deleted_in_google_deletes_in_the_crm(emulator: Any) -> None:
    w = new_world(emulator)
    keep, gone = add_crm(w, {"title": "Keep"}), add_crm(w, {"title": "Gone"})
    synced(w)
    tasks_service(emulator).tasks().delete(tasklist=crm_list(w), task=by_title(w)["Gone"]["id"]).execute()
    synced(w)
    assert crm_task(w, keep).title == "Keep"
    assert w.crm.get_many("tasks", [gone]) == []


def test_overlap_reports_a_google_edit_once(emulator: Any) -> None:
    w = new_world(emulator)
    add_crm(w, {"title": "A"})
    synced(w)
    synced(w)
    [task] = w.google_tasks().values()
    tasks_service(emulator).tasks().patch(tasklist=crm_list(w), task=task["id"], body={"title": "A2"}).execute()
    assert w.sync().listed["google"] == 1
    again = w.sync()  # at once: the edit is inside the overlap window, and de-duplicated
    assert again.listed["google"] == 0
    assert again.writes == {}


def test_google_tasks_of_selected_lists_flow_into_the_crm_and_back(emulator: Any) -> None:
    made = seed(
        emulator.state.account(EMAIL),
        emulator.state,
        {"tasklists": {"Work": [{"title": "Quote", "due": "2026-12-01T00:00:00.000Z"}], "Private": [{"title": "Gym"}]}},
    )
    work = made["tasklists"]["Work"]["id"]
    w = new_world(emulator, options=TaskOptions(lists=(work,)))
    synced(w)
    [rec] = [c.record for c in w.crm.changes("tasks", None).items]
    assert isinstance(rec, Task)
    assert (rec.title, rec.due) == ("Quote", "2026-12-01")
    w.crm.update("tasks", rec.id, {"title": "Quote v2"}, rec.version)
    w.crm.create("tasks", {"owner_id": "u1", "title": "From CRM"}, "k-new")
    calls = synced(w)  # a fresh side: it finds the Work task by probing the synced lists in one batch
    assert calls["tasks.tasks.get"] == 2
    lists = {li["title"]: li["id"] for li in tasks_service(emulator).tasklists().list().execute()["items"]}
    assert set(lists) == {"My Tasks", "Work", "Private", "CRM"}
    assert by_title(w)["Quote v2"]["selfLink"].split("/lists/")[1].startswith(work)
    assert by_title(w)["From CRM"]["selfLink"].split("/lists/")[1].startswith(lists["CRM"])
    assert "Gym" not in {c.record.title for c in w.crm.changes("tasks", None).items if isinstance(c.record, Task)}


def test_inserts_go_in_batches_of_at_most_100(emulator: Any) -> None:
    w = new_world(emulator)
    for i in range(250):
        add_crm(w, {"title": f"T{i:03d}"})
    calls = synced(w)
    assert (calls["batch"], calls["tasks.tasks.insert"]) == (3, 250)
    assert len(w.google_tasks()) == 250


class CrashOnSave:
    """A link store that loses the first save (the worker died before persisting links)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.crashes = 1

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def save_links(self, upserts: Sequence[Link], deletes: Sequence[Link]) -> None:
        if self.crashes:
            self.crashes -= 1
            raise TransientError("injected crash before the links were saved")
        self.inner.save_links(upserts, deletes)


def test_crash_after_insert_links_on_the_next_run_without_duplicates(emulator: Any) -> None:
    w = new_world(emulator)
    for i in range(5):
        add_crm(w, {"title": f"T{i}"})
    real = w.links
    w.links = CrashOnSave(real)
    w.later()
    with pytest.raises(TransientError):
        w.sync()
    assert len(w.google_tasks()) == 5
    assert all(i.task_id for i in w.intents.intents.values())
    report = w.sync()
    assert report.writes == {}  # linked through the intents
    assert len(w.google_tasks()) == 5
    assert real.count_links(w.engine().kind) == 5
    assert synced(w) == {"tasks.tasks.list": 1}
    assert len(w.intents.intents) == 5  # quiet runs do not even read them
    task = next(iter(w.google_tasks().values()))
    tasks_service(emulator).tasks().patch(tasklist=crm_list(w), task=task["id"], body={"title": "T9"}).execute()
    synced(w)
    assert w.intents.intents == {}  # the next run with news forgets intents of superseded tokens


class LoseAnswers(MemoryIntentStore):
    """An intent store whose second write fails: the crash hits after Google created the
    tasks but before their ids were recorded (as if the batch answer was lost)."""

    def __init__(self) -> None:
        super().__init__()
        self.writes = 0

    def record(self, intents: Sequence[Intent]) -> None:
        self.writes += 1
        if self.writes == 2:
            raise TransientError("injected crash before the task ids were recorded")
        super().record(intents)


def test_lost_insert_answer_is_matched_by_content(emulator: Any) -> None:
    w = new_world(emulator)
    w.intents = LoseAnswers()
    for i in range(3):
        add_crm(w, {"title": f"T{i}", "notes": f"n{i}"})
    add_crm(w, {"title": "Twin"})
    add_crm(w, {"title": "Twin", "due": "2026-11-30"})
    w.later()
    with pytest.raises(TransientError):
        w.sync()
    assert len(w.google_tasks()) == 5
    assert not any(i.task_id for i in w.intents.intents.values())
    report = w.sync()
    assert report.complete
    assert report.writes == {}
    assert len(w.google_tasks()) == 5


def test_transient_insert_failure_is_retried_by_the_next_run_only(emulator: Any) -> None:
    w = new_world(emulator)
    for i in range(3):
        add_crm(w, {"title": f"T{i}"})
    emulator.state.extras["faults"] = {"tasks.tasks.insert": {"sequence": deque(["ok", "503", "ok"])}}
    w.later()
    first = w.sync()
    assert not first.complete
    assert len(w.google_tasks()) == 2
    synced(w)
    assert sorted(by_title(w)) == ["T0", "T1", "T2"]
    assert synced(w) == {"tasks.tasks.list": 1}


def test_transient_patch_failure_is_retried_within_the_batch(emulator: Any) -> None:
    w = new_world(emulator)
    cid = add_crm(w, {"title": "A"})
    synced(w)
    synced(w)
    emulator.state.extras["faults"] = {"tasks.tasks.patch": {"sequence": deque(["429"])}}
    w.crm.update("tasks", cid, {"title": "A2"}, crm_task(w, cid).version)
    calls = synced(w)
    assert (calls["batch"], calls["tasks.tasks.patch"]) == (2, 2)
    assert list(by_title(w)) == ["A2"]


def test_full_resync_after_links_exist_makes_no_duplicates(emulator: Any) -> None:
    w = new_world(emulator)
    for i in range(3):
        add_crm(w, {"title": f"T{i}"})
    synced(w)
    synced(w)
    cursor = w.links.cursor(w.engine().kind)
    cursor.full_sync = True
    w.links.save_cursor(cursor)
    calls = synced(w)
    assert "tasks.tasks.insert" not in calls
    assert len(w.google_tasks()) == 3
