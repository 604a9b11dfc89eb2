"""Record validation: field paths and messages a person can act on."""

from __future__ import annotations

from typing import Any

import pytest

from crmsync.crm.validation import FieldError, is_email, is_time_zone, pointer, validate_patch, validate_record

pytestmark = pytest.mark.unit

TIMED = {"subject": "x", "start": "2026-10-19T09:00:00", "end": "2026-10-19T09:30:00", "time_zone": "Europe/Berlin"}


def paths(errors: list[FieldError]) -> list[str]:
    return [e.path for e in errors]


def test_a_valid_contact_is_normalised_with_defaults() -> None:
    rec, errors = validate_record("contacts", {"given_name": "Anna", "emails": [{"value": "a@example.com"}]})
    assert errors == []
    assert rec is not None
    assert rec["emails"] == [{"type": "other", "value": "a@example.com"}]
    assert rec["tags"] == []
    assert rec["owner_id"] is None


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("a@example.com", True),
        (" Anna.Schmidt@Example.COM ", True),
        ("not-an-email@", False),
        ("a b@example.com", False),
        ("a@localhost", False),
        ("@example.com", False),
    ],
)
def test_email_syntax(value: str, ok: bool) -> None:
    assert is_email(value) is ok


def test_time_zones_are_iana_names() -> None:
    assert is_time_zone("Europe/Berlin")
    assert is_time_zone("UTC")
    assert not is_time_zone("CEST")
    assert not is_time_zone("Mars/Base")


def test_read_only_and_unknown_fields_are_named() -> None:
    _, errors = validate_record("tasks", {"title": "x", "id": "t1", "version": 3, "colour": "red"})
    assert set(paths(errors)) == {"/id", "/version", "/colour"}
    _, errors = validate_record("tasks", {"title": "x", "colour": "red"})
    assert paths(errors) == ["/colour"]
    assert "unknown field" in errors[0].message


def test_wrong_types_are_reported_with_their_path() -> None:
    _, errors = validate_record("contacts", {"given_name": 5, "emails": [{"type": "pager", "value": "a@b.co"}]})
    assert set(paths(errors)) == {"/given_name", "/emails/0/type"}
    assert "work" in next(e.message for e in errors if e.path == "/emails/0/type")


def test_timed_activity_rules() -> None:
    assert validate_record("activities", TIMED)[1] == []
    _, errors = validate_record("activities", {**TIMED, "end": "2026-10-19T08:00:00"})
    assert paths(errors) == ["/end"]
    _, errors = validate_record("activities", {**TIMED, "start_date": "2026-10-19"})
    assert paths(errors) == ["/start_date"]
    _, errors = validate_record("activities", {"subject": "x"})
    assert set(paths(errors)) == {"/time_zone", "/start", "/end"}


def test_end_after_start_is_judged_in_the_zone_across_dst() -> None:
    # 02:30 -> 02:10 on the day clocks go back in Berlin: wall times look backwards and are.
    _, errors = validate_record("activities", {**TIMED, "start": "2026-10-25T02:30:00", "end": "2026-10-25T02:10:00"})
    assert paths(errors) == ["/end"]


def test_all_day_end_date_is_inclusive() -> None:
    one_day = {"subject": "x", "all_day": True, "start_date": "2026-12-24", "end_date": "2026-12-24"}
    assert validate_record("activities", one_day)[1] == []
    _, errors = validate_record("activities", {**one_day, "time_zone": "UTC"})
    assert paths(errors) == ["/time_zone"]


@pytest.mark.parametrize(
    ("recurrence", "path"),
    [
        ({"rrule": "RRULE:FREQ=DAILY"}, "/recurrence/rrule"),
        ({"rrule": "FREQ=DAILY;COUNT=2;UNTIL=20261201T000000Z"}, "/recurrence/rrule"),
        ({"rrule": "FREQ=DAILY", "exdates": ["2026-10-20"]}, "/recurrence/exdates/0"),
        ({"rrule": "BYDAY=MO"}, "/recurrence/rrule"),
    ],
)
def test_recurrence_rules(recurrence: dict[str, Any], path: str) -> None:
    _, errors = validate_record("activities", {**TIMED, "recurrence": recurrence})
    assert path in paths(errors)


def test_until_in_utc_is_accepted_for_a_zoned_series() -> None:
    rec = {
        **TIMED,
        "time_zone": "Europe/Paris",
        "start": "2026-11-03T08:00:00",
        "end": "2026-11-03T08:30:00",
        "recurrence": {"rrule": "FREQ=DAILY;UNTIL=20261201T070000Z"},
    }
    assert validate_record("activities", rec)[1] == []


def test_a_series_with_no_occurrence_is_refused_with_the_way_out() -> None:
    rec = {**TIMED, "recurrence": {"rrule": "FREQ=WEEKLY;UNTIL=20261001T000000Z"}}  # ends before it starts
    [error] = validate_record("activities", rec)[1]
    assert error.path == "/recurrence/rrule"
    assert "no occurrence" in error.message and "UNTIL" in error.message
    with_a_date = {**rec, "recurrence": {**rec["recurrence"], "rdates": ["2026-10-26T09:00:00"]}}
    assert validate_record("activities", with_a_date)[1] == []  # an RDATE is an occurrence


def test_exceptions_must_name_a_real_occurrence() -> None:
    series = {**TIMED, "recurrence": {"rrule": "FREQ=WEEKLY;BYDAY=MO;COUNT=6"}}
    ok = {**series, "exceptions": [{"original_start": "2026-10-26T09:00:00", "cancelled": True}]}
    assert validate_record("activities", ok)[1] == []  # a Monday after the DST change, same wall time
    bad = {**series, "exceptions": [{"original_start": "2026-10-27T09:00:00", "cancelled": True}]}
    assert paths(validate_record("activities", bad)[1]) == ["/exceptions/0/original_start"]
    both = {**series, "exceptions": [{"original_start": "2026-10-26T09:00:00", "cancelled": True, "subject": "moved"}]}
    assert paths(validate_record("activities", both)[1]) == ["/exceptions/0/cancelled"]
    single = {**TIMED, "exceptions": [{"original_start": "2026-10-19T09:00:00"}]}
    assert paths(validate_record("activities", single)[1]) == ["/exceptions"]


def test_task_due_forms() -> None:
    for due in ("2026-11-26", "2026-11-25T16:30:00+01:00", "2026-11-25T15:30:00Z"):
        assert validate_record("tasks", {"title": "x", "due": due})[1] == []
    for due in ("2026-11-25T16:30:00", "26.11.2026", "2026-02-30"):
        assert paths(validate_record("tasks", {"title": "x", "due": due})[1]) == ["/due"]


def test_birthday_without_year_allows_29_february() -> None:
    assert validate_record("contacts", {"given_name": "N", "birthday": {"month": 2, "day": 29}})[1] == []
    errors = validate_record("contacts", {"given_name": "N", "birthday": {"year": 2026, "month": 2, "day": 29}})[1]
    assert paths(errors) == ["/birthday/day"]
    assert "2026" in errors[0].message


def test_patch_reports_only_what_it_touches() -> None:
    current = {"given_name": "Bad", "emails": [{"type": "work", "value": "not-an-email@"}], "tags": []}
    merged, errors = validate_patch("contacts", current, {"title": "QA"})
    assert errors == []
    assert merged is not None
    assert merged["title"] == "QA"
    assert merged["emails"][0]["value"] == "not-an-email@"
    _, errors = validate_patch("contacts", current, {"emails": [{"type": "work", "value": "x@"}]})
    assert paths(errors) == ["/emails/0/value"]


def test_patch_touching_one_time_field_rechecks_the_group() -> None:
    _, errors = validate_patch("activities", TIMED, {"start": "2026-10-19T10:00:00"})
    assert paths(errors) == ["/end"]


def test_json_pointer_escapes() -> None:
    assert pointer(["a/b", "c~d", 0]) == "/a~1b/c~0d/0"


def test_too_long_text_is_refused() -> None:
    _, errors = validate_record("contacts", {"given_name": "x", "notes": "n" * 100_001})
    assert paths(errors) == ["/notes"]
