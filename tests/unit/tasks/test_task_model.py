"""The canonical task, its Google mapping and the CRM due-time rule, including property tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from crmsync.crm.tasks_side import crm_due
from crmsync.google.tasks_mapping import GoogleTask, insert_body, patch_body, task_canon
from crmsync.model.normalise import InvalidValue
from crmsync.model.task import TaskOptions, canonical_task, due_date_of, instant, match_keys

pytestmark = pytest.mark.unit


def test_canonical_task_normalises_noise() -> None:
    canon = canonical_task(
        {"title": "  Call   back ", "notes": "a\r\nb  \r\n\r\n", "due": "2026-11-25T16:30:00+01:00", "status": "open"}
    )
    assert canon == {
        "title": "Call back",
        "notes": "a\nb",
        "due_date": "2026-11-25",
        "status": "needs_action",
        "completed": None,
    }


def test_due_date_is_taken_in_the_values_own_offset() -> None:
    # 00:30 local on the 25th is the 24th in UTC; the CRM user means the 25th.
    assert due_date_of("2026-11-25T00:30:00+01:00") == "2026-11-25"
    assert due_date_of("2026-11-25") == "2026-11-25"
    assert due_date_of(None) is None
    with pytest.raises(InvalidValue, match="neither a date"):
        due_date_of("next tuesday")


def test_completed_only_counts_for_completed_tasks_and_drops_sub_seconds() -> None:
    done = canonical_task({"title": "x", "status": "completed", "completed": "2026-11-25T15:30:00.123456+01:00"})
    assert done["completed"] == "2026-11-25T14:30:00Z"
    stray = canonical_task({"title": "x", "status": "needsAction", "completed": "2026-11-25T15:30:00Z"})
    assert stray["completed"] is None
    assert stray["status"] == "needs_action"
    with pytest.raises(InvalidValue, match="no time zone"):
        instant("2026-11-25T15:30:00")


def test_a_task_without_title_cannot_sync_and_says_why() -> None:
    with pytest.raises(InvalidValue, match="no title"):
        canonical_task({"title": "   "})


def test_match_key_is_title_and_due_date() -> None:
    a = canonical_task({"title": "Call Back", "due": "2026-11-25"})
    b = canonical_task({"title": "call back", "due": "2026-11-25T09:00:00Z"})
    assert match_keys(a) == match_keys(b) == (["call back|2026-11-25"],)
    assert match_keys(canonical_task({"title": "call back"})) != match_keys(a)


def test_crm_due_keeps_the_crm_time_and_offset() -> None:
    assert crm_due("2026-11-27", "2026-11-25T16:30:00+01:00") == "2026-11-27T16:30:00+01:00"
    assert crm_due("2026-11-27", "2026-11-25") == "2026-11-27"
    assert crm_due("2026-11-27", None) == "2026-11-27"
    assert crm_due(None, "2026-11-25T16:30:00+01:00") is None


def test_google_body_writes_midnight_utc_and_a_completion_pair() -> None:
    canon = canonical_task(
        {"title": "Send offer", "due": "2026-11-26", "status": "completed", "completed": "2026-11-20T10:00:00Z"}
    )
    assert insert_body(canon) == {
        "title": "Send offer",
        "status": "completed",
        "due": "2026-11-26T00:00:00.000Z",
        "completed": "2026-11-20T10:00:00.000Z",
    }
    reopened = {**canon, "status": "needs_action", "completed": None}
    assert patch_body({"status": "needs_action", "completed": None}, reopened) == {
        "status": "needsAction",
        "completed": None,
    }
    assert patch_body({"due_date": None}, {**canon, "due_date": None}) == {"due": None}


def test_hidden_is_not_part_of_the_record() -> None:
    base = {"id": "t1", "title": "x", "status": "completed", "completed": "2026-11-20T10:00:00.000Z"}
    assert task_canon(GoogleTask.model_validate({**base, "hidden": True})) == task_canon(
        GoogleTask.model_validate(base)
    )


def test_task_options_reject_blank_list_ids() -> None:
    assert TaskOptions(lists=(" a ", "a", "b")).lists == ("a", "b")
    with pytest.raises(ValidationError, match="must not be empty"):
        TaskOptions(lists=("a", " "))


# ------------------------------------------------------------------ properties

titles = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=40).filter(lambda s: s.strip())
notes = st.none() | st.text(st.characters(blacklist_categories=("Cs",)), max_size=200)
dates = st.dates(min_value=datetime(2000, 1, 1).date(), max_value=datetime(2099, 12, 31).date())
offsets = st.integers(min_value=-12 * 60, max_value=14 * 60).map(lambda m: timezone(timedelta(minutes=m)))
instants = st.datetimes(min_value=datetime(2000, 1, 2), max_value=datetime(2099, 12, 30), timezones=st.just(UTC))


@st.composite
def raw_tasks(draw: st.DrawFn) -> dict[str, object]:
    due = draw(
        st.none()
        | dates.map(str)
        | st.builds(lambda d, tz: datetime(d.year, d.month, d.day, 16, 30, tzinfo=tz).isoformat(), dates, offsets)
    )
    done = draw(st.booleans())
    return {
        "title": draw(titles),
        "notes": draw(notes),
        "due": due,
        "status": "completed" if done else "open",
        "completed": draw(instants).isoformat() if done else None,
    }


@given(raw_tasks())
def test_canonical_form_is_a_fixed_point(raw: dict[str, object]) -> None:
    canon = canonical_task(raw)
    again = canonical_task({**canon, "due": canon["due_date"]})
    assert again == canon


@given(raw_tasks())
def test_what_we_write_to_google_reads_back_the_same(raw: dict[str, object]) -> None:
    canon = canonical_task(raw)
    body = insert_body(canon)
    echoed = GoogleTask.model_validate({"id": "t", **body, "updated": "2026-11-20T10:00:00.000Z"})
    assert task_canon(echoed) == canon


@given(raw_tasks(), dates)
def test_a_new_due_date_keeps_the_crm_time(raw: dict[str, object], new: object) -> None:
    current = raw["due"] if isinstance(raw["due"], str) else None
    written = crm_due(str(new), current)
    assert due_date_of(written) == str(new)
    if current and "T" in current:
        assert written is not None
        assert written.endswith(current[current.index("T") :])
