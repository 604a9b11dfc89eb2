"""The CRM connector contract: every test runs against FakeCrm and the reference CRM over HTTP."""

from __future__ import annotations

from typing import Any

import pytest

from crmsync.crm.models import Activity, Contact, Task
from crmsync.crm.port import (
    BulkCreate,
    BulkDelete,
    BulkUpdate,
    Change,
    CrmAuthError,
    CrmConflict,
    CrmConnector,
    CrmCursorExpired,
    CrmIdempotencyReuse,
    CrmNotFound,
    CrmValidation,
)
from crmsync.crm.rest import RestCrmConnector

from .conftest import Harness

pytestmark = pytest.mark.integration


def drain(conn: CrmConnector, kind: Any, cursor: str | None = None, **kw: Any) -> tuple[list[Change], str]:
    """Read a feed to its end: every change and the final cursor."""
    items: list[Change] = []
    while True:
        page = conn.changes(kind, cursor, **kw)
        items += page.items
        cursor = page.next_cursor
        if not page.has_more:
            return items, cursor


def contact(given: str, **extra: Any) -> dict[str, Any]:
    return {"given_name": given, **extra}


def test_create_get_roundtrip_keeps_every_field(crm: Harness) -> None:
    body = {
        "given_name": "Zoë",
        "family_name": "Ångström-Łukasiewicz",
        "emails": [{"type": "work", "value": "zoe@example.org"}, {"type": "home", "value": "z@example.com"}],
        "phones": [{"type": "mobile", "value": "+81 90-1234-5678"}],
        "addresses": [
            {"type": "work", "street": "1 Main St", "city": "New York", "postal_code": "10001", "country": "US"}
        ],
        "birthday": {"month": 2, "day": 29},
        "notes": "prefers WhatsApp 📱",
        "tags": ["crm"],
    }
    made = crm.connector.create("contacts", body, "k-roundtrip")
    assert isinstance(made, Contact)
    assert made.version == 1
    assert made.id.startswith("con_")
    got = crm.connector.get("contacts", made.id)
    assert got == made
    assert got.family_name == "Ångström-Łukasiewicz"
    assert got.birthday is not None
    assert got.birthday.year is None
    assert [e.value for e in got.emails] == ["zoe@example.org", "z@example.com"]


def test_feed_is_in_commit_order_with_tombstones(crm: Harness) -> None:
    c = crm.connector
    a, b, d = (c.create("contacts", contact(n), f"k-{n}") for n in ("A", "B", "D"))
    c.update("contacts", a.id, {"title": "CEO"}, a.version)
    c.delete("contacts", b.id, b.version)
    items, cursor = drain(c, "contacts")
    assert [(i.id, i.change, i.version) for i in items] == [
        (d.id, "upsert", 1),
        (a.id, "upsert", 2),
        (b.id, "delete", 2),
    ]
    assert isinstance(items[1].record, Contact)
    assert items[1].record.title == "CEO"
    assert items[2].record is None
    again = c.changes("contacts", cursor)
    assert again.items == []
    assert not again.has_more
    assert again.next_cursor
    e = c.create("contacts", contact("E"), "k-E")
    assert [i.id for i in c.changes("contacts", cursor).items] == [e.id]
    assert c.changes("tasks", None).items == []


def test_feed_pages_never_repeat_or_skip(crm: Harness) -> None:
    c = crm.connector
    made = {c.create("tasks", {"title": f"t{i}"}, f"k{i}").id for i in range(25)}
    cursor, seen, pages = None, [], []
    while True:
        page = c.changes("tasks", cursor, limit=10)
        pages.append(len(page.items))
        seen += [i.id for i in page.items]
        cursor = page.next_cursor
        if not page.has_more:
            break
    assert pages == [10, 10, 5]
    assert len(seen) == 25
    assert set(seen) == made


def test_idempotent_create_replays_the_original(crm: Harness) -> None:
    c = crm.connector
    first = c.create("contacts", contact("Anna"), "same-key")
    c.update("contacts", first.id, {"title": "CFO"}, 1)
    replay = c.create("contacts", contact("Anna"), "same-key")
    assert replay.id == first.id
    assert replay.version == 1
    assert len(drain(c, "contacts")[0]) == 1
    with pytest.raises(CrmIdempotencyReuse):
        c.create("contacts", contact("Bob"), "same-key")
    # A key is per kind: the same key on tasks makes a task.
    assert isinstance(c.create("tasks", {"title": "x"}, "same-key"), Task)


def test_key_reuse_names_the_record_the_key_made_to_its_owner_only(crm: Harness) -> None:
    c = crm.connector
    u1, u2 = crm.add_user("u1@example.com", "U One"), crm.add_user("u2@example.com", "U Two")
    first = c.create("contacts", contact("Anna"), "reuse-key", on_behalf_of=u1.id)
    with pytest.raises(CrmIdempotencyReuse) as mine:
        c.create("contacts", contact("Anna", title="CEO"), "reuse-key", on_behalf_of=u1.id)
    assert mine.value.record_id == first.id
    with pytest.raises(CrmIdempotencyReuse) as theirs:
        c.create("contacts", contact("Anna"), "reuse-key", on_behalf_of=u2.id)  # another acting user
    assert theirs.value.record_id is None
    [item] = c.bulk("contacts", [BulkCreate(contact("Anna", title="CFO"), "reuse-key")], on_behalf_of=u1.id)
    assert isinstance(item.error, CrmIdempotencyReuse) and item.error.record_id == first.id


def test_bulk_converging_lands_a_changed_retry_on_the_record_its_key_made(crm: Harness) -> None:
    from crmsync.crm.converge import bulk_converging

    c = crm.connector
    u1 = crm.add_user("u1@example.com", "U One")
    first = c.create("contacts", contact("Anna"), "k-lost", on_behalf_of=u1.id)  # its reply was "lost"
    c.update("contacts", first.id, {"title": "CFO"}, 1, on_behalf_of=u1.id)  # the user edits it meanwhile
    [item] = bulk_converging(c, "contacts", [BulkCreate(contact("Anna", title="CEO"), "k-lost")], on_behalf_of=u1.id)
    assert item.ok and item.record is not None and item.record.id == first.id
    assert (item.replayed_other, item.record.version, item.record.title) == (True, 1, None)  # as first created
    assert c.get("contacts", first.id, on_behalf_of=u1.id).title == "CFO"  # type: ignore[union-attr]
    c.delete("contacts", first.id, 2, on_behalf_of=u1.id)  # the user deletes it meanwhile
    ops = [BulkCreate(contact("Anna", title="CFO"), "k-lost")]
    [again] = bulk_converging(c, "contacts", ops, on_behalf_of=u1.id)
    assert again.ok and again.record is not None and again.record.id != first.id
    [replay] = bulk_converging(c, "contacts", ops, on_behalf_of=u1.id)  # a retry of that replays it
    assert replay.record is not None and replay.record.id == again.record.id
    assert len([x for x in drain(c, "contacts", on_behalf_of=u1.id)[0] if x.record is not None]) == 1


def test_stale_if_match_is_a_conflict_with_the_current_version(crm: Harness) -> None:
    c = crm.connector
    rec = c.create("contacts", contact("Anna"), "k1")
    v2 = c.update("contacts", rec.id, {"title": "CFO"}, 1)
    assert v2.version == 2
    assert v2.title == "CFO"
    assert v2.given_name == "Anna"
    with pytest.raises(CrmConflict) as err:
        c.update("contacts", rec.id, {"title": "CEO"}, 1)
    assert err.value.current_version == 2
    assert err.value.status == 412
    with pytest.raises(CrmConflict):
        c.delete("contacts", rec.id, 1)
    c.delete("contacts", rec.id, 2)
    with pytest.raises(CrmNotFound):
        c.get("contacts", rec.id)
    with pytest.raises(CrmNotFound):
        c.update("contacts", rec.id, {"title": "x"}, 3)
    with pytest.raises(CrmNotFound):
        c.update("contacts", "con_missing", {"title": "x"}, 1)


def test_patch_null_clears_and_validates_only_what_it_touches(crm: Harness) -> None:
    c = crm.connector
    rec = c.create("contacts", contact("Anna", title="CFO", emails=[{"type": "work", "value": "a@example.com"}]), "k1")
    cleared = c.update("contacts", rec.id, {"title": None}, 1)
    assert cleared.title is None
    assert cleared.emails[0].value == "a@example.com"
    with pytest.raises(CrmValidation) as err:
        c.update("contacts", rec.id, {"emails": [{"type": "work", "value": "nope"}], "version": 5}, 2)
    assert {e.path for e in err.value.errors} >= {"/version"}


def test_bulk_gives_a_result_per_operation(crm: Harness) -> None:
    c = crm.connector
    keep = c.create("contacts", contact("Keep"), "k-keep")
    gone = c.create("contacts", contact("Gone"), "k-gone")
    results = c.bulk(
        "contacts",
        [
            BulkCreate({"given_name": "New"}, "b1"),
            BulkCreate({"emails": [{"type": "work", "value": "not-an-email@"}]}, "b2"),
            BulkUpdate(keep.id, 1, {"title": "CTO"}),
            BulkUpdate(keep.id, 1, {"title": "stale"}),
            BulkDelete(gone.id, 1),
            BulkDelete("con_missing", 1),
        ],
    )
    assert [r.status for r in results] == [201, 422, 200, 412, 204, 404]
    assert [r.index for r in results] == list(range(6))
    assert results[0].ok
    assert isinstance(results[0].record, Contact)
    assert results[0].record.given_name == "New"
    assert isinstance(results[1].error, CrmValidation)
    assert results[1].error.errors[0].path == "/emails/0/value"
    assert isinstance(results[3].error, CrmConflict)
    assert results[3].error.current_version == 2
    assert isinstance(results[5].error, CrmNotFound)
    assert c.get("contacts", keep.id).title == "CTO"
    # Replaying the bulk create returns the same record.
    again = c.bulk("contacts", [BulkCreate({"given_name": "New"}, "b1")])
    assert again[0].record is not None
    assert results[0].record is not None
    assert again[0].record.id == results[0].record.id


def test_bulk_is_limited_to_500_operations(crm: Harness) -> None:
    ops = [BulkCreate({"title": f"t{i}"}, f"k{i}") for i in range(501)]
    with pytest.raises(CrmValidation) as err:
        crm.connector.bulk("tasks", ops)
    assert err.value.status == 413
    assert err.value.errors[0].path == "/operations"
    assert len(crm.connector.bulk("tasks", ops[:500])) == 500


@pytest.mark.parametrize(
    ("kind", "body", "path"),
    [
        ("contacts", {"given_name": "A", "emails": [{"type": "work", "value": "a@b"}]}, "/emails/0/value"),
        ("contacts", {"given_name": "A", "nickname": "x"}, "/nickname"),
        ("contacts", {"given_name": "A", "birthday": {"month": 2, "day": 30}}, "/birthday/day"),
        ("contacts", {"given_name": "A", "company_id": "cmp_missing"}, "/company_id"),
        ("contacts", {"given_name": "A", "owner_id": "usr_missing"}, "/owner_id"),
        ("contacts", {}, "/given_name"),
        (
            "activities",
            {"subject": "x", "start": "2026-01-01T10:00:00", "end": "2026-01-01T11:00:00", "time_zone": "Mars/Base"},
            "/time_zone",
        ),
        (
            "activities",
            {"subject": "x", "start": "2026-01-01T10:00:00", "end": "2026-01-01T09:00:00", "time_zone": "UTC"},
            "/end",
        ),
        (
            "activities",
            {"subject": "x", "start": "2026-01-01T10:00:00+01:00", "end": "2026-01-01T11:00:00", "time_zone": "UTC"},
            "/start",
        ),
        (
            "activities",
            {"subject": "x", "all_day": True, "start_date": "2026-12-24", "end_date": "2026-12-23"},
            "/end_date",
        ),
        (
            "activities",
            {
                "subject": "x",
                "start": "2026-01-01T10:00:00",
                "end": "2026-01-01T11:00:00",
                "time_zone": "UTC",
                "recurrence": {"rrule": "FREQ=SOMETIMES"},
            },
            "/recurrence/rrule",
        ),
        (
            "activities",
            {
                "subject": "x",
                "start": "2026-01-05T10:00:00",
                "end": "2026-01-05T11:00:00",
                "time_zone": "UTC",
                "recurrence": {"rrule": "FREQ=WEEKLY;COUNT=3"},
                "exceptions": [{"original_start": "2026-01-06T10:00:00", "cancelled": True}],
            },
            "/exceptions/0/original_start",
        ),
        (
            "activities",
            {
                "subject": "x",
                "start": "2026-01-01T10:00:00",
                "end": "2026-01-01T11:00:00",
                "time_zone": "UTC",
                "attendees": [{"email": "bob"}],
            },
            "/attendees/0/email",
        ),
        ("tasks", {"title": "x", "due": "tomorrow"}, "/due"),
        ("tasks", {"title": "x", "completed_at": "2026-01-01T10:00:00Z"}, "/completed_at"),
        ("tasks", {"title": "x", "status": "done"}, "/status"),
        ("companies", {"name": "X", "domain": "Not A Domain"}, "/domain"),
    ],
)
def test_validation_errors_point_at_the_field(crm: Harness, kind: Any, body: dict[str, Any], path: str) -> None:
    with pytest.raises(CrmValidation) as err:
        crm.connector.create(kind, body, "k-invalid")
    assert err.value.status == 422
    assert path in [e.path for e in err.value.errors], err.value.errors
    assert all(e.message for e in err.value.errors)


def test_tricky_activities_are_accepted(crm: Harness) -> None:
    c = crm.connector
    series = c.create(
        "activities",
        {
            "subject": "1:1",
            "start": "2026-11-02T15:00:00",
            "end": "2026-11-02T15:30:00",
            "time_zone": "Europe/London",
            "recurrence": {"rrule": "FREQ=WEEKLY;COUNT=8", "exdates": ["2026-11-16T15:00:00"]},
            "exceptions": [
                {"original_start": "2026-11-23T15:00:00", "start": "2026-11-24T10:00:00", "end": "2026-11-24T10:30:00"}
            ],
            "attendees": [{"email": "anna.schmidt@example.com", "response": "accepted"}],
        },
        "k-series",
    )
    assert isinstance(series, Activity)
    assert series.recurrence is not None
    assert series.exceptions[0].original_start == "2026-11-23T15:00:00"
    leap = c.create(
        "activities",
        {
            "subject": "Leap",
            "all_day": True,
            "start_date": "2028-02-29",
            "end_date": "2028-02-29",
            "recurrence": {"rrule": "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29"},
        },
        "k-leap",
    )
    assert isinstance(leap, Activity)
    assert leap.all_day
    assert leap.end_date == "2028-02-29"


def test_task_completion_time_is_kept_consistent(crm: Harness) -> None:
    c = crm.connector
    task = c.create("tasks", {"title": "Send offer", "due": "2026-11-25T16:30:00+01:00", "status": "completed"}, "k1")
    assert isinstance(task, Task)
    assert task.completed_at is not None
    assert task.due == "2026-11-25T16:30:00+01:00"
    reopened = c.update("tasks", task.id, {"status": "open"}, 1)
    assert isinstance(reopened, Task)
    assert reopened.completed_at is None


def test_tag_filter_reports_records_that_leave_it(crm: Harness) -> None:
    c = crm.connector
    inside = c.create("contacts", contact("In", tags=["crm"]), "k1")
    leaving = c.create("contacts", contact("Leaving", tags=["crm", "vip"]), "k2")
    c.create("contacts", contact("Never", tags=["other"]), "k3")
    items, cursor = drain(c, "contacts", tag="crm")
    assert {i.id for i in items} == {inside.id, leaving.id}
    assert all(i.change == "upsert" for i in items)
    c.update("contacts", leaving.id, {"tags": ["vip"]}, 1)
    c.delete("contacts", inside.id, 1)
    items, _ = drain(c, "contacts", cursor, tag="crm")
    assert [(i.id, i.change) for i in items] == [(leaving.id, "out_of_scope"), (inside.id, "delete")]
    with pytest.raises(CrmCursorExpired) as err:  # a CrmValidation: the request was wrong
        c.changes("contacts", cursor)  # a cursor belongs to its filter
    assert err.value.status == 400
    assert err.value.errors[0].path == "/cursor"


def test_owner_filter_reports_a_change_of_owner(crm: Harness) -> None:
    c = crm.connector
    u1, u2 = crm.add_user("u1@example.com", "U One"), crm.add_user("u2@example.com", "U Two")
    rec = c.create("tasks", {"title": "x", "owner_id": u1.id}, "k1")
    items, cursor = drain(c, "tasks", owner_id=u1.id)
    assert [i.change for i in items] == ["upsert"]
    c.update("tasks", rec.id, {"owner_id": u2.id}, 1)
    assert [i.change for i in drain(c, "tasks", cursor, owner_id=u1.id)[0]] == ["out_of_scope"]
    assert [i.change for i in drain(c, "tasks", None, owner_id=u2.id)[0]] == ["upsert"]


def test_acting_user_sees_only_what_they_may_see(crm: Harness) -> None:
    c = crm.connector
    admin = crm.add_user("boss@example.com", "Boss", "admin")
    u1 = crm.add_user("Anna.Schmidt@Example.com", "Anna")
    u2 = crm.add_user("bob@example.com", "Bob")
    own = c.create("contacts", contact("Own"), "k1", on_behalf_of=u1.id)
    assert own.owner_id == u1.id
    other = c.create("contacts", contact("Other"), "k2", on_behalf_of=u2.id)
    shared = c.create("contacts", contact("Shared", tags=["shared"]), "k3", on_behalf_of=u2.id)
    meeting = c.create(
        "activities",
        {
            "subject": "Board prep",
            "start": "2026-12-03T14:00:00",
            "end": "2026-12-03T15:00:00",
            "time_zone": "Europe/Berlin",
            "private": True,
            "owner_id": u2.id,
            "attendees": [{"email": "anna.schmidt@example.com"}],
        },
        "k4",
    )
    items, cursor = drain(c, "contacts", on_behalf_of=u1.id)
    assert {i.id for i in items} == {own.id, shared.id}
    assert [i.id for i in drain(c, "activities", on_behalf_of=u1.id)[0]] == [meeting.id]
    assert len(drain(c, "contacts", on_behalf_of=admin.id)[0]) == 3
    with pytest.raises(CrmNotFound):
        c.get("contacts", other.id, on_behalf_of=u1.id)
    with pytest.raises(CrmNotFound):
        c.update("contacts", other.id, {"title": "x"}, 1, on_behalf_of=u1.id)
    assert [r.id for r in c.get_many("contacts", [other.id, shared.id, own.id, "con_x"], on_behalf_of=u1.id)] == [
        shared.id,
        own.id,
    ]
    with pytest.raises(CrmAuthError):
        c.create("contacts", contact("Gift", owner_id=u2.id), "k5", on_behalf_of=u1.id)
    # Losing the shared tag takes the record out of u1's feed: out_of_scope, not silence.
    c.update("contacts", shared.id, {"tags": []}, 1, on_behalf_of=u2.id)
    assert [(i.id, i.change) for i in drain(c, "contacts", cursor, on_behalf_of=u1.id)[0]] == [
        (shared.id, "out_of_scope")
    ]
    with pytest.raises(CrmAuthError):
        c.changes("contacts", None, on_behalf_of="usr_nobody")


def test_user_lookup_by_id_and_email(crm: Harness) -> None:
    u = crm.add_user("Anna.Schmidt@Example.com", "Anna Schmidt", "admin")
    c = crm.connector
    assert c.user(u.id) == u
    assert u.role == "admin"
    found = c.user_by_email("  anna.schmidt@example.COM ")
    assert found is not None
    assert found.id == u.id
    assert c.user_by_email("nobody@example.com") is None
    with pytest.raises(CrmNotFound):
        c.user("usr_nobody")


def test_companies_are_found_by_name_and_domain(crm: Harness) -> None:
    c = crm.connector
    co = c.create("companies", {"name": "Nordwind GmbH", "domain": "nordwind.example"}, "k1")
    c.create("companies", {"name": "Other"}, "k2")
    assert [x.id for x in c.find_companies(name="nordwind gmbh")] == [co.id]
    assert [x.id for x in c.find_companies(domain="NORDWIND.example")] == [co.id]
    assert c.find_companies(name="Nobody") == []
    person = c.create("contacts", contact("Anna", company_id=co.id, title="CFO"), "k3")
    assert isinstance(person, Contact)
    assert person.company_id == co.id


def test_get_many_keeps_the_order_asked_and_skips_missing(crm: Harness) -> None:
    c = crm.connector
    a, b = c.create("tasks", {"title": "a"}, "ka"), c.create("tasks", {"title": "b"}, "kb")
    assert [r.id for r in c.get_many("tasks", [b.id, "tsk_missing", a.id])] == [b.id, a.id]


def test_cursor_survives_a_server_restart(crm: Harness) -> None:
    if crm.restart is None:
        pytest.skip("durability across restarts is a property of the real server")
    c = crm.connector
    first = c.create("contacts", contact("Before"), "k1")
    _, cursor = drain(c, "contacts")
    c2 = crm.restart()
    after = c2.create("contacts", contact("After"), "k2")
    assert [i.id for i in c2.changes("contacts", cursor).items] == [after.id]
    assert c2.create("contacts", contact("Before"), "k1").id == first.id  # idempotency keys survive too


def test_wrong_api_key_is_an_auth_error(crm: Harness) -> None:
    if not isinstance(crm.connector, RestCrmConnector):
        pytest.skip("the fake has no API key")
    bad = RestCrmConnector(crm.connector.base_url, "wrong", sleep=lambda _s: None)
    with pytest.raises(CrmAuthError) as err:
        bad.changes("contacts", None)
    assert err.value.status == 401
    bad.close()
