"""The user's answer to a mass-delete safety stop, through the whole run service over the Google
emulator and the CRM fake: "Keep them (restore from the other side)" creates the records again on the
side that lost them, from the other side's data, relinked — the next run applies it once, records it
in its report (and the history in words), and nothing is deleted or duplicated on either side.

Before: the only answer was "Delete them"; keeping the records meant restoring each by hand."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
import requests

from crmsync.model.kinds import Kind
from crmsync.services.health import history
from crmsync.services.run_sync import sync_connection
from crmsync.sync.approvals import StopAnswer, UserChoices, choices_of, keep_choices, stop_choice
from tests.integration.sync.test_target_switch import Stack

pytestmark = pytest.mark.integration


def run(s: Stack) -> dict[str, Any]:
    return sync_connection(s.conn, s.token, s.deps, kinds=[Kind.TASKS]).as_dict()


def crm_list(s: Stack) -> str:
    lists = s.google("/tasks/v1/users/@me/lists")["items"]
    return str(next(t["id"] for t in lists if t["title"] == "CRM"))  # where CRM tasks go by default


def google_tasks(s: Stack) -> dict[str, str]:
    items = s.google(f"/tasks/v1/lists/{crm_list(s)}/tasks").get("items") or []
    return {t["id"]: t["title"] for t in items}


def test_keep_them_restores_tasks_deleted_in_google_from_the_crm(emulator: Any) -> None:
    s = Stack(emulator)
    for i in range(20):
        s.crm.create("tasks", {"title": f"Call {i}"}, f"t{i}", on_behalf_of=s.user)
    s.settle(Kind.TASKS)
    assert len(google_tasks(s)) == 20
    gone = sorted(google_tasks(s))[:12]  # over the floor of 10 and the share of 20 %
    for gid in gone:  # the user clears half of their Google Tasks at once
        resp = requests.delete(
            f"{s.base}/tasks/v1/lists/{crm_list(s)}/tasks/{gid}",
            headers={"Authorization": f"Bearer {s.access()}"},
            timeout=10,
        )
        assert resp.status_code == 204, resp.text

    stopped = run(s)["kinds"]["tasks"]
    assert "stopped" in stopped and stopped["would_delete_count"] == 12
    assert {r["side"] for r in stopped["would_delete"]} == {"crm"}
    assert len(s.records("tasks")) == 20  # nothing deleted in the CRM

    # "Keep them": what services.stops records for the page's button.
    links = s.store.connection_store(s.conn.id)
    cursor = links.cursor(Kind.TASKS)
    answer = stop_choice(StopAnswer.RESTORE, stopped["would_delete"], 12, datetime.now(UTC), s.user)
    keep_choices(cursor, UserChoices(stop=answer))
    links.save_cursor(cursor)

    summary = run(s)
    tasks = summary["kinds"]["tasks"]
    assert tasks["restored"] == {"google": 12} and tasks["writes"] == {"google.create": 12}
    assert "stopped" not in tasks
    assert sorted(google_tasks(s).values()) == sorted(f"Call {i}" for i in range(20))
    assert len(s.records("tasks")) == 20
    assert choices_of(links.cursor(Kind.TASKS)).stop is None  # applied once
    words = history([summary])[0].changes
    assert "12 tasks created in Google" in words
    assert "Tasks: 12 records kept as you chose (restored from the other side)" in words

    for _ in range(2):  # relinked: quiet after the echo, no duplicates on either side
        again = run(s)["kinds"]["tasks"]
        assert again["writes"] == {} and not again["errors"], again
    assert len(google_tasks(s)) == 20 and len(s.records("tasks")) == 20
    assert s.links(Kind.TASKS) == 20
