"""Tasks API v1 of the Google emulator, driven through the real googleapiclient."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from googleapiclient.errors import HttpError

from infra.google_emulator import tasks as tasks_api
from infra.google_emulator.core import SCOPE_TASKS, SCOPE_TASKS_RO, rfc3339
from tests.support.google import batch, credentials, service

pytestmark = pytest.mark.integration

RFC3339_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
ME = "owner@example.com"


@pytest.fixture
def svc(emulator: Any) -> Any:
    return service("tasks", emulator.base_url, credentials(emulator.state, ME, frozenset({SCOPE_TASKS})))


def error_of(excinfo: pytest.ExceptionInfo[HttpError]) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(excinfo.value.content)["error"]
    return body


def add(svc: Any, title: str, tasklist: str = "@default", **params: Any) -> dict[str, Any]:
    body = params.pop("body", {})
    result: dict[str, Any] = svc.tasks().insert(tasklist=tasklist, body={"title": title, **body}, **params).execute()
    return result


def titles(svc: Any, tasklist: str = "@default", **params: Any) -> list[str]:
    return [
        t["title"] for t in svc.tasks().list(tasklist=tasklist, maxResults=100, **params).execute().get("items", [])
    ]


def all_pages(svc: Any, **params: Any) -> tuple[list[dict[str, Any]], int]:
    items: list[dict[str, Any]] = []
    calls = 0
    req = svc.tasks().list(**params)
    while req is not None:
        resp = req.execute()
        calls += 1
        items += resp.get("items", [])
        req = svc.tasks().list_next(req, resp)
    return items, calls


# --------------------------------------------------------------------------- task lists


def test_every_account_has_a_default_list_also_named_at_default(svc: Any) -> None:
    lists = svc.tasklists().list().execute()
    assert [tl["title"] for tl in lists["items"]] == ["My Tasks"]
    default = svc.tasklists().get(tasklist="@default").execute()
    assert default["id"] == lists["items"][0]["id"]
    assert default["kind"] == "tasks#taskList"
    assert RFC3339_MS.match(default["updated"])


def test_tasklist_crud_and_the_default_list_cannot_be_deleted(emulator: Any, svc: Any) -> None:
    with pytest.raises(HttpError) as missing:
        svc.tasklists().insert(body={}).execute()
    assert missing.value.resp.status == 400
    work = svc.tasklists().insert(body={"title": "Work"}).execute()
    assert svc.tasklists().get(tasklist=work["id"]).execute()["title"] == "Work"
    emulator.state.clock.advance(timedelta(seconds=3))
    patched = svc.tasklists().patch(tasklist=work["id"], body={"title": "CRM"}).execute()
    assert patched["title"] == "CRM"
    assert patched["updated"] > work["updated"]
    assert patched["etag"] != work["etag"]
    with pytest.raises(HttpError) as no_title:
        svc.tasklists().update(tasklist=work["id"], body={"id": work["id"]}).execute()
    assert no_title.value.resp.status == 400
    assert svc.tasklists().update(tasklist=work["id"], body={"title": "Sales"}).execute()["title"] == "Sales"
    add(svc, "in work", tasklist=work["id"])
    svc.tasklists().delete(tasklist=work["id"]).execute()
    for call in (svc.tasklists().get(tasklist=work["id"]), svc.tasks().list(tasklist=work["id"])):
        with pytest.raises(HttpError) as gone:
            call.execute()
        assert gone.value.resp.status == 404
    with pytest.raises(HttpError) as default:
        svc.tasklists().delete(tasklist="@default").execute()
    assert default.value.resp.status == 400
    assert "default task list" in error_of(default)["message"]


def test_tasklists_page_at_max_results_and_reject_more_than_1000(svc: Any) -> None:
    for n in range(4):
        svc.tasklists().insert(body={"title": f"L{n}"}).execute()
    seen: list[str] = []
    req = svc.tasklists().list(maxResults=2)
    while req is not None:
        resp = req.execute()
        assert len(resp["items"]) <= 2
        seen += [tl["title"] for tl in resp["items"]]
        req = svc.tasklists().list_next(req, resp)
    assert seen == ["My Tasks", "L0", "L1", "L2", "L3"]
    with pytest.raises(HttpError) as too_many:
        svc.tasklists().list(maxResults=1001).execute()
    assert too_many.value.resp.status == 400


def test_accounts_are_isolated(emulator: Any, svc: Any) -> None:
    mine = svc.tasklists().insert(body={"title": "Private"}).execute()
    other = service("tasks", emulator.base_url, credentials(emulator.state, "other@example.com"))
    assert [tl["title"] for tl in other.tasklists().list().execute()["items"]] == ["My Tasks"]
    assert (
        other.tasklists().get(tasklist="@default").execute()["id"]
        != svc.tasklists().get(tasklist="@default").execute()["id"]
    )
    with pytest.raises(HttpError) as foreign:
        other.tasks().list(tasklist=mine["id"]).execute()
    assert foreign.value.resp.status == 404


# --------------------------------------------------------------------------- task fields


def test_inserted_task_has_google_fields_and_due_keeps_only_the_utc_date(emulator: Any, svc: Any) -> None:
    task = add(
        svc,
        "Call Ada",
        body={
            "notes": "about the offer",
            "due": "2024-05-01T00:30:00+02:00",
            "position": "0",
            "parent": "x",
            "id": "mine",
        },
    )
    assert task["kind"] == "tasks#task"
    assert task["id"] != "mine"
    assert "parent" not in task
    assert task["due"] == "2024-04-30T00:00:00.000Z"  # 2024-04-30T22:30Z, time dropped
    assert task["status"] == "needsAction"
    assert "completed" not in task
    assert re.fullmatch(r"\d{20}", task["position"])
    assert task["selfLink"].endswith(
        f"/tasks/v1/lists/{svc.tasklists().get(tasklist='@default').execute()['id']}/tasks/{task['id']}"
    )
    assert task["etag"].startswith('"')
    assert task["webViewLink"].startswith("https://tasks.google.com/")
    assert svc.tasks().get(tasklist="@default", task=task["id"]).execute() == task


def test_updated_uses_the_emulator_clock(emulator: Any, svc: Any) -> None:
    emulator.state.clock.set(datetime(2025, 1, 2, 3, 4, 5, 678_901, tzinfo=UTC), frozen=True)
    task = add(svc, "old")
    assert task["updated"] == "2025-01-02T03:04:05.678Z"
    emulator.state.clock.advance(timedelta(hours=1))
    later = svc.tasks().patch(tasklist="@default", task=task["id"], body={"title": "new"}).execute()
    assert later["updated"] == "2025-01-02T04:04:05.678Z"


def test_completed_is_stamped_and_cleared_with_status(emulator: Any, svc: Any) -> None:
    task = add(svc, "finish")
    emulator.state.clock.advance(timedelta(minutes=5))
    done = svc.tasks().patch(tasklist="@default", task=task["id"], body={"status": "completed"}).execute()
    assert done["status"] == "completed"
    assert RFC3339_MS.match(done["completed"])
    assert done["updated"] > task["updated"]
    assert done["etag"] != task["etag"]
    again = svc.tasks().patch(tasklist="@default", task=task["id"], body={"status": "needsAction"}).execute()
    assert "completed" not in again
    explicit = (
        svc.tasks()
        .patch(
            tasklist="@default", task=task["id"], body={"status": "completed", "completed": "2023-01-02T03:04:05.678Z"}
        )
        .execute()
    )
    assert explicit["completed"] == "2023-01-02T03:04:05.678Z"
    with pytest.raises(HttpError) as bad:
        svc.tasks().patch(tasklist="@default", task=task["id"], body={"status": "done"}).execute()
    assert bad.value.resp.status == 400
    assert error_of(bad)["errors"][0]["location"] == "status"


@pytest.mark.parametrize(("field", "limit"), [("title", 1024), ("notes", 8192)])
def test_title_and_notes_length_limits(svc: Any, field: str, limit: int) -> None:
    ok = svc.tasks().insert(tasklist="@default", body={field: "x" * limit}).execute()
    assert len(ok[field]) == limit
    with pytest.raises(HttpError) as long:
        svc.tasks().insert(tasklist="@default", body={field: "x" * (limit + 1)}).execute()
    err = error_of(long)
    assert long.value.resp.status == 400
    assert err["status"] == "INVALID_ARGUMENT"
    assert err["errors"][0]["reason"] == "invalid"
    assert str(limit) in err["message"]
    with pytest.raises(HttpError):
        svc.tasks().patch(tasklist="@default", task=ok["id"], body={field: "y" * (limit + 1)}).execute()
    assert svc.tasks().get(tasklist="@default", task=ok["id"]).execute()[field] == "x" * limit


def test_patch_keeps_other_fields_and_update_replaces_them(svc: Any) -> None:
    task = add(svc, "t", body={"notes": "n", "due": "2024-06-01T00:00:00Z"})
    patched = svc.tasks().patch(tasklist="@default", task=task["id"], body={"title": "t2"}).execute()
    assert (patched["title"], patched["notes"], patched["due"]) == ("t2", "n", "2024-06-01T00:00:00.000Z")
    cleared = svc.tasks().patch(tasklist="@default", task=task["id"], body={"due": None}).execute()
    assert "due" not in cleared
    assert cleared["notes"] == "n"
    replaced = (
        svc.tasks().update(tasklist="@default", task=task["id"], body={"id": task["id"], "title": "t3"}).execute()
    )
    assert replaced["title"] == "t3"
    assert "notes" not in replaced
    assert replaced["position"] == task["position"]
    with pytest.raises(HttpError) as mismatch:
        svc.tasks().update(tasklist="@default", task=task["id"], body={"id": "other", "title": "x"}).execute()
    assert mismatch.value.resp.status == 400


def test_unknown_list_or_task_is_404_in_the_tasks_error_shape(svc: Any) -> None:
    for call in (
        svc.tasks().list(tasklist="nope"),
        svc.tasks().insert(tasklist="nope", body={"title": "x"}),
        svc.tasks().get(tasklist="@default", task="nope"),
        svc.tasks().patch(tasklist="@default", task="nope", body={}),
    ):
        with pytest.raises(HttpError) as err:
            call.execute()
        assert err.value.resp.status == 404
        body = error_of(err)
        assert body["code"] == 404
        assert body["status"] == "NOT_FOUND"
        assert body["errors"][0]["reason"] == "notFound"


# --------------------------------------------------------------------------- order


def test_insert_goes_first_unless_previous_or_parent_is_given(svc: Any) -> None:
    a = add(svc, "a")
    b = add(svc, "b")  # no previous: first among its siblings
    c = add(svc, "c", previous=a["id"])
    child1 = add(svc, "a.1", parent=a["id"])
    child2 = add(svc, "a.2", parent=a["id"], previous=child1["id"])
    assert titles(svc) == ["b", "a", "a.1", "a.2", "c"]
    assert child2["parent"] == a["id"]
    assert "parent" not in c
    positions = [b["position"], a["position"], c["position"]]
    assert positions == sorted(positions)
    with pytest.raises(HttpError) as not_sibling:
        add(svc, "x", previous=child1["id"])  # previous must share the parent
    assert not_sibling.value.resp.status == 400
    with pytest.raises(HttpError) as grandchild:
        add(svc, "x", parent=child1["id"])
    assert grandchild.value.resp.status == 400
    with pytest.raises(HttpError) as no_parent:
        add(svc, "x", parent="missing")
    assert no_parent.value.resp.status == 404


def test_many_inserts_between_the_same_neighbours_keep_a_strict_order(svc: Any) -> None:
    first = add(svc, "first")
    last = add(svc, "last", previous=first["id"])
    for n in range(40):  # each goes right after "first": positions must keep halving, then renumber
        add(svc, f"n{n}", previous=first["id"])
    listed = svc.tasks().list(tasklist="@default", maxResults=100).execute()["items"]
    assert [t["title"] for t in listed] == ["first", *[f"n{n}" for n in reversed(range(40))], "last"]
    assert [t["position"] for t in listed] == sorted({t["position"] for t in listed})
    assert listed[-1]["id"] == last["id"]


def test_move_within_a_list_under_a_parent_and_to_another_list(svc: Any) -> None:
    a, b, c = add(svc, "a"), add(svc, "b"), add(svc, "c")  # order: c b a
    moved = svc.tasks().move(tasklist="@default", task=c["id"], previous=a["id"]).execute()
    assert titles(svc) == ["b", "a", "c"]
    assert moved["position"] > a["position"]
    sub = svc.tasks().move(tasklist="@default", task=b["id"], parent=a["id"]).execute()
    assert sub["parent"] == a["id"]
    assert titles(svc) == ["a", "b", "c"]
    top = svc.tasks().move(tasklist="@default", task=b["id"]).execute()
    assert "parent" not in top
    assert titles(svc) == ["b", "a", "c"]
    svc.tasks().move(tasklist="@default", task=c["id"], parent=a["id"]).execute()
    other = svc.tasklists().insert(body={"title": "Other"}).execute()
    across = svc.tasks().move(tasklist="@default", task=a["id"], destinationTasklist=other["id"]).execute()
    assert across["id"] == a["id"]
    assert across["selfLink"].endswith(f"/lists/{other['id']}/tasks/{a['id']}")
    assert titles(svc) == ["b"]
    assert titles(svc, other["id"]) == ["a", "c"]
    with pytest.raises(HttpError) as gone:
        svc.tasks().get(tasklist="@default", task=a["id"]).execute()
    assert gone.value.resp.status == 404
    with pytest.raises(HttpError) as self_parent:
        svc.tasks().move(tasklist=other["id"], task=a["id"], parent=a["id"]).execute()
    assert self_parent.value.resp.status == 400
    with pytest.raises(HttpError) as bad_list:
        svc.tasks().move(tasklist=other["id"], task=a["id"], destinationTasklist="nope").execute()
    assert bad_list.value.resp.status == 404


# --------------------------------------------------------------------------- delete, clear, listing


def test_deleted_task_is_a_tombstone_visible_to_get_and_show_deleted(svc: Any) -> None:
    parent = add(svc, "parent")
    child = add(svc, "child", parent=parent["id"])
    keep = add(svc, "keep")
    svc.tasks().delete(tasklist="@default", task=parent["id"]).execute()
    svc.tasks().delete(tasklist="@default", task=parent["id"]).execute()  # a retried delete succeeds
    assert titles(svc) == ["keep"]
    assert svc.tasks().get(tasklist="@default", task=parent["id"]).execute()["deleted"] is True
    shown = svc.tasks().list(tasklist="@default", showDeleted=True).execute()["items"]
    assert {t["title"]: t.get("deleted", False) for t in shown} == {"keep": False, "parent": True, "child": True}
    restored = svc.tasks().patch(tasklist="@default", task=parent["id"], body={"deleted": False}).execute()
    assert "deleted" not in restored
    assert titles(svc) == ["keep", "parent"]
    assert keep["id"] != child["id"]


def test_clear_hides_completed_tasks_until_they_are_reopened(svc: Any) -> None:
    done = add(svc, "done", body={"status": "completed"})
    add(svc, "open")
    svc.tasks().clear(tasklist="@default").execute()
    assert titles(svc) == ["open"]
    hidden = svc.tasks().list(tasklist="@default", showHidden=True).execute()["items"]
    assert [(t["title"], t.get("hidden", False)) for t in hidden] == [("open", False), ("done", True)]
    assert titles(svc, showHidden=True, showCompleted=False) == ["open"]
    svc.tasks().patch(tasklist="@default", task=done["id"], body={"status": "needsAction"}).execute()
    assert titles(svc) == ["open", "done"]


def test_list_pages_20_by_default_and_rejects_more_than_100(svc: Any, emulator: Any) -> None:
    tasks_api.seed(
        emulator.state.account(ME),
        emulator.state,
        {"tasklists": {"My Tasks": [{"title": f"t{n:02d}"} for n in range(45)]}},
    )
    first = svc.tasks().list(tasklist="@default").execute()
    assert len(first["items"]) == 20
    assert "nextPageToken" in first
    assert first["kind"] == "tasks#tasks"
    items, calls = all_pages(svc, tasklist="@default")
    assert [t["title"] for t in items] == [f"t{n:02d}" for n in range(45)]
    assert calls == 3
    with pytest.raises(HttpError) as too_big:
        svc.tasks().list(tasklist="@default", maxResults=101).execute()
    err = error_of(too_big)
    assert too_big.value.resp.status == 400
    assert err["errors"][0]["location"] == "maxResults"
    with pytest.raises(HttpError) as bad_token:
        svc.tasks().list(tasklist="@default", pageToken="garbage").execute()
    assert bad_token.value.resp.status == 400


def test_list_filters_on_completion_and_due_dates(svc: Any) -> None:
    add(svc, "may", body={"due": "2024-05-10T00:00:00Z"})
    add(svc, "june", body={"due": "2024-06-10T00:00:00Z"})
    add(svc, "done", body={"status": "completed", "completed": "2024-01-15T10:00:00Z"})
    add(svc, "undated")
    assert set(titles(svc, showCompleted=False)) == {"may", "june", "undated"}
    assert titles(svc, dueMin="2024-05-01T00:00:00Z", dueMax="2024-06-01T00:00:00Z") == ["may"]
    assert titles(svc, dueMin="2024-06-10T00:00:00Z") == ["june"]  # lower bound inclusive
    assert titles(svc, completedMin="2024-01-01T00:00:00Z", completedMax="2024-02-01T00:00:00Z") == ["done"]
    assert titles(svc, completedMax="2024-01-15T10:00:00Z") == []  # upper bound exclusive
    with pytest.raises(HttpError) as bad:
        svc.tasks().list(tasklist="@default", dueMin="yesterday").execute()
    assert bad.value.resp.status == 400


def test_incremental_listing_with_updated_min_sees_changes_deletes_and_clears(emulator: Any, svc: Any) -> None:
    old = [add(svc, f"old{n}") for n in range(5)]
    emulator.state.clock.advance(timedelta(minutes=1))
    since = rfc3339(emulator.state.clock.now())
    emulator.state.clock.advance(timedelta(seconds=1))
    svc.tasks().patch(tasklist="@default", task=old[0]["id"], body={"notes": "edited"}).execute()
    svc.tasks().delete(tasklist="@default", task=old[1]["id"]).execute()
    svc.tasks().patch(tasklist="@default", task=old[2]["id"], body={"status": "completed"}).execute()
    svc.tasks().clear(tasklist="@default").execute()
    add(svc, "new")
    items, _ = all_pages(svc, tasklist="@default", updatedMin=since, showDeleted=True, showHidden=True, maxResults=2)
    flags = {t["title"]: (t.get("deleted", False), t.get("hidden", False)) for t in items}
    assert flags == {"old0": (False, False), "old1": (True, False), "old2": (False, True), "new": (False, False)}
    assert all(t["updated"] >= since for t in items)
    assert titles(svc, updatedMin=since) == ["old0", "new"]  # defaults still hide deleted and hidden


# --------------------------------------------------------------------------- limits and scopes


def test_storage_limits_answer_403_and_hidden_tasks_do_not_count_per_list(emulator: Any, svc: Any) -> None:
    emulator.state.extras.update({"tasks.max_visible_per_list": 2, "tasks.max_total": 4, "tasks.max_lists": 2})
    first = add(svc, "1", body={"status": "completed"})
    add(svc, "2")
    with pytest.raises(HttpError) as full:
        add(svc, "3")
    assert full.value.resp.status == 403
    assert error_of(full)["errors"][0]["reason"] == "quotaExceeded"
    svc.tasks().clear(tasklist="@default").execute()  # "1" becomes hidden: room for one more
    add(svc, "3")
    other = svc.tasklists().insert(body={"title": "Other"}).execute()
    add(svc, "4", tasklist=other["id"])
    with pytest.raises(HttpError) as total:
        add(svc, "5", tasklist=other["id"])
    assert total.value.resp.status == 403
    assert "100000" not in error_of(total)["message"]
    svc.tasks().delete(tasklist="@default", task=first["id"]).execute()  # deleted tasks do not count
    add(svc, "5", tasklist=other["id"])
    with pytest.raises(HttpError) as lists:
        svc.tasklists().insert(body={"title": "Third"}).execute()
    assert lists.value.resp.status == 403


def test_readonly_scope_can_read_but_not_write(emulator: Any) -> None:
    ro = service("tasks", emulator.base_url, credentials(emulator.state, ME, frozenset({SCOPE_TASKS_RO})))
    assert ro.tasks().list(tasklist="@default").execute()["kind"] == "tasks#tasks"
    assert ro.tasklists().list().execute()["items"][0]["title"] == "My Tasks"
    with pytest.raises(HttpError) as denied:
        ro.tasks().insert(tasklist="@default", body={"title": "x"}).execute()
    assert denied.value.resp.status == 403


# --------------------------------------------------------------------------- seed and dump


def test_seed_and_dump_round_trip_with_subtasks_and_states(emulator: Any, svc: Any) -> None:
    account = emulator.state.account(ME)
    result = tasks_api.seed(
        account,
        emulator.state,
        {
            "tasklists": {
                "My Tasks": [
                    {"id": "p1", "title": "parent", "due": "2024-03-03T15:00:00Z"},
                    {"title": "child", "parent": "p1"},
                    {"title": "cleared", "status": "completed", "hidden": True},
                    {"title": "gone", "deleted": True, "updated": "2020-01-01T00:00:00Z"},
                ],
                "CRM": [{"title": "crm task", "notes": "n"}],
            }
        },
    )
    crm_id = result["tasklists"]["CRM"]["id"]
    assert titles(svc) == ["parent", "child"]
    assert titles(svc, crm_id) == ["crm task"]
    gone = svc.tasks().list(tasklist="@default", showDeleted=True).execute()["items"][-1]
    assert gone["updated"] == "2020-01-01T00:00:00.000Z"
    dumped = tasks_api.dump(account, emulator.state)["tasklists"]
    assert [t["title"] for t in dumped["My Tasks"]] == ["parent", "child", "cleared", "gone"]
    assert dumped["My Tasks"][1]["parent"] == "p1"
    assert dumped["My Tasks"][0]["due"] == "2024-03-03T00:00:00.000Z"
    assert dumped["My Tasks"][2]["hidden"] is True
    assert dumped["CRM"][0]["notes"] == "n"


def test_seeded_2000_tasks_list_completely_at_100_per_page(emulator: Any, svc: Any) -> None:
    tasks_api.seed(
        emulator.state.account(ME), emulator.state, {"tasklists": {"Big": [{"title": f"t{n}"} for n in range(2000)]}}
    )
    big = next(tl for tl in svc.tasklists().list().execute()["items"] if tl["title"] == "Big")
    items, calls = all_pages(svc, tasklist=big["id"], maxResults=100)
    assert calls == 20
    assert [t["title"] for t in items] == [f"t{n}" for n in range(2000)]


def test_seed_rejects_malformed_data(emulator: Any) -> None:
    account = emulator.state.account(ME)
    with pytest.raises(Exception, match="parent"):
        tasks_api.seed(account, emulator.state, {"tasklists": {"My Tasks": [{"title": "x", "parent": "missing"}]}})
    with pytest.raises(Exception, match="status"):
        tasks_api.seed(account, emulator.state, {"tasklists": {"My Tasks": [{"title": "x", "status": "done"}]}})


def test_a_parent_with_subtasks_cannot_become_a_subtask_even_across_lists(svc: Any) -> None:
    parent, other_top = add(svc, "parent"), add(svc, "other")
    add(svc, "child", parent=parent["id"])
    elsewhere = svc.tasklists().insert(body={"title": "Elsewhere"}).execute()
    target = add(svc, "target", tasklist=elsewhere["id"])
    for params in ({"parent": other_top["id"]}, {"parent": target["id"], "destinationTasklist": elsewhere["id"]}):
        with pytest.raises(HttpError) as nested:
            svc.tasks().move(tasklist="@default", task=parent["id"], **params).execute()
        assert nested.value.resp.status == 400
    assert titles(svc) == ["other", "parent", "child"]


def test_inserts_through_the_batch_endpoint(emulator: Any, svc: Any) -> None:
    list_id = svc.tasklists().get(tasklist="@default").execute()["id"]
    results: list[Any] = []
    req = batch("tasks", emulator.base_url, svc)
    for n in range(100):
        req.add(
            svc.tasks().insert(tasklist=list_id, body={"title": f"b{n}"}),
            callback=lambda _id, resp, exc: results.append(exc or resp),
        )
    req.execute(http=svc._http)
    assert [r["title"] for r in results] == [f"b{n}" for n in range(100)]
    items, calls = all_pages(svc, tasklist="@default", maxResults=100)
    assert len(items) == 100
    assert calls == 1
