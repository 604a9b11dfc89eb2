"""The health view computed from the run log: states, since-when, history in words."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from crmsync.model.kinds import Kind
from crmsync.model.settings import SyncSettings
from crmsync.model.state import Connection, ConnectionStatus
from crmsync.services.admin_config import AdminConfig
from crmsync.services.health import Action, State, conflicts_of, history, kind_health, parse_note, record_issues
from crmsync.services.run_words import run_sentences

pytestmark = pytest.mark.unit
T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def run(n: int, **contacts: Any) -> dict[str, Any]:
    report = {"kind": "contacts", "writes": {}, "notes": [], "errors": [], "conflicts": [], "complete": True}
    return {
        "run_id": f"r{n}",
        "started_at": T0 + timedelta(hours=n),
        "reason": "tick",
        "kinds": {"contacts": {**report, **contacts}},
    }


def conn(status: ConnectionStatus = ConnectionStatus.ACTIVE) -> Connection:
    return Connection(id="c", crm_user_id="u", google_subject="s", google_email="a@x", status=status, created_at=T0)


def test_a_note_reads_as_side_id_and_reason() -> None:
    assert parse_note("google people/c1: skipped: 'x' is not a valid e-mail address") == (
        "google",
        "people/c1",
        "'x' is not a valid e-mail address",
    )
    assert parse_note("no structure here") is None


def test_an_issue_is_dated_from_the_first_run_that_reported_it_and_a_full_run_ends_the_window() -> None:
    note = "crm c1: skipped: bad phone"
    runs = [run(3, notes=[note]), run(2, notes=[note], full=True), run(1, notes=[note, "crm c2: skipped: old"])]
    issues = record_issues(runs, Kind.CONTACTS, "notes")
    assert [(i.record_id, i.since) for i in issues] == [
        ("c1", T0 + timedelta(hours=2))
    ]  # c2 is older than the full run


def test_failing_writes_are_parsed_into_words() -> None:
    runs = [run(1, errors=["update in crm of c9: CRM 422: title too long"])]
    [issue] = record_issues(runs, Kind.CONTACTS, "errors")
    assert (issue.side, issue.record_id) == ("crm", "c9")
    assert issue.reason == "Could not update it in the CRM: CRM 422: title too long"


@pytest.mark.parametrize(
    ("connection", "rules", "runs", "state", "action"),
    [
        (conn(), AdminConfig(), [], State.WAITING, Action.WAIT),
        (conn(), AdminConfig(), [run(1)], State.IN_SYNC, Action.NONE),
        (conn(), AdminConfig(), [run(1, complete=False)], State.SYNCING, Action.WAIT),
        (
            conn(),
            AdminConfig(),
            [
                {
                    **run(2),
                    "kinds": {
                        "contacts": {
                            "stopped": "x",
                            "complete": False,
                            "would_delete": [{"side": "google", "name": "A"}],
                        }
                    },
                },
                run(1),
            ],
            State.STOPPED,
            Action.REVIEW_DELETES,
        ),
        (conn(ConnectionStatus.NEEDS_REAUTH), AdminConfig(), [run(1)], State.NEEDS_RECONNECT, Action.RECONNECT),
        (conn(ConnectionStatus.PAUSED), AdminConfig(), [run(1)], State.PAUSED_BY_ADMIN, Action.ASK_ADMIN),
        (conn(), AdminConfig(sync_enabled=False), [run(1)], State.PAUSED_BY_ADMIN, Action.ASK_ADMIN),
    ],
)
def test_each_state_and_its_one_action(
    connection: Connection, rules: AdminConfig, runs: list[dict[str, Any]], state: State, action: Action
) -> None:
    health = kind_health(Kind.CONTACTS, connection, rules, True, runs, 5, running=False)
    assert (health.state, health.action) == (state, action)
    if state is State.STOPPED:
        assert health.last_success_at == T0 + timedelta(hours=1)


def test_a_kind_the_user_turned_off() -> None:
    off = conn().model_copy(
        update={
            "settings": SyncSettings().model_copy(
                update={"tasks": SyncSettings().tasks.model_copy(update={"enabled": False})}
            )
        }
    )
    assert kind_health(Kind.TASKS, off, AdminConfig(), True, [], None, running=False).state is State.OFF


def test_history_and_conflicts_in_words() -> None:
    runs = [
        run(
            2,
            writes={"google.create": 12, "crm.update": 1},
            conflicts=[
                {"crm_id": "c1", "field": "title", "crm": "A", "google": "B", "winner": "crm", "policy": "crm_wins"}
            ],
        ),
        run(1),
    ]
    lines = history(runs)
    assert lines[0].changes == ["12 contacts created in Google", "1 contact updated in the CRM"]
    assert lines[1].changes == ["No changes"] and lines[1].trigger == "Scheduled"
    [conflict] = conflicts_of(runs)
    assert (conflict.field, conflict.crm_value, conflict.google_value, conflict.winner) == ("title", "A", "B", "crm")
    assert run_sentences({"events": {"writes": {"crm.delete": 2}}}) == ["2 activities deleted in the CRM"]


def test_conflict_values_read_as_text() -> None:
    from crmsync.services.health import value_text

    assert value_text([{"type": "work", "value": "a@x.de"}, {"type": "home", "value": "b@x.de"}]) == "a@x.de, b@x.de"
    assert value_text(None) == "—" and value_text("CTO") == "CTO"
    assert (
        value_text({"street": "Hauptstr. 1", "city": "Berlin", "region": None}) == "street: Hauptstr. 1, city: Berlin"
    )


def test_a_kind_stopped_by_a_setting_or_waiting_for_a_quota() -> None:
    by_setting = {
        **run(2),
        "kinds": {
            "contacts": {
                "stopped": "the calendar is gone",
                "setting": "event_options.read_calendars",
                "complete": False,
            }
        },
    }
    health = kind_health(Kind.CONTACTS, conn(), AdminConfig(), True, [by_setting], 1, running=False)
    assert (health.state, health.action) == (State.STOPPED, Action.CHANGE_SETTING)
    quota = {**run(2), "kinds": {"contacts": {"waiting": "waiting for a used-up Google quota", "complete": False}}}
    health = kind_health(Kind.CONTACTS, conn(), AdminConfig(), True, [quota], 1, running=False)
    assert (health.state, health.why) == (State.SYNCING, "waiting for a used-up Google quota")


def test_a_conflict_settled_by_the_users_choice_leaves_the_list_and_a_stale_choice_says_so() -> None:
    title = {"crm_id": "c1", "google_id": "g1", "field": "title", "crm": "A", "google": "B", "winner": "crm"}
    notes = {"crm_id": "c2", "google_id": "g2", "field": "notes", "crm": "x", "google": "y", "winner": "google"}
    older = run(1, conflicts=[title, notes])
    [a, b] = conflicts_of([older])
    assert (a.loser, a.loser_text, a.choice) == ("google", "B", None) and (b.loser, b.loser_text) == ("crm", "x")
    assert [c.choice for c in conflicts_of([older], pending=[("contacts", "c1", "title")])] == ["pending", None]
    used = run(
        2,
        choices=[
            {"crm_id": "c1", "field": "title", "outcome": "applied"},
            {"crm_id": "c2", "field": "notes", "outcome": "stale"},
        ],
    )
    assert [(c.field, c.choice) for c in conflicts_of([used, older])] == [("notes", "stale")]
    assert history([used])[0].changes == [
        "Contacts: 1 conflict settled with the value you chose",
        "Contacts: 1 value you chose was not used (see Conflicts)",
    ]
    # A newer conflict of the same field is listed again (once: the newest).
    again = run(3, conflicts=[{**title, "crm": "C"}])
    assert [(c.field, c.crm_value) for c in conflicts_of([again, used, older])] == [
        ("title", "C"),
        ("notes", "x"),
    ]
