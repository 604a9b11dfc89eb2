"""Cursors, scope rules, the error mapper and the REST connector's backoff (no network)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from crmsync.crm import semantics as sem
from crmsync.crm.errors import error_from_problem, parse_retry_after
from crmsync.crm.port import (
    CrmAuthError,
    CrmConflict,
    CrmError,
    CrmIdempotencyReuse,
    CrmNotFound,
    CrmTransient,
    CrmValidation,
)
from crmsync.crm.rest import RestCrmConnector

pytestmark = pytest.mark.unit


def test_cursor_round_trip_and_binding() -> None:
    flt = sem.FeedFilter(tag="crm")
    cursor = sem.encode_cursor("contacts", flt, 42)
    assert sem.decode_cursor("contacts", flt, cursor) == 42
    assert sem.decode_cursor("contacts", flt, None) == 0
    with pytest.raises(sem.CursorError, match="another kind or other filters"):
        sem.decode_cursor("tasks", flt, cursor)
    with pytest.raises(sem.CursorError, match="another kind or other filters"):
        sem.decode_cursor("contacts", sem.FeedFilter(), cursor)
    for junk in ("abc", "!!!", sem.encode_cursor("contacts", flt, 1)[:-3]):
        with pytest.raises(sem.CursorError):
            sem.decode_cursor("contacts", flt, junk)


def test_scope_keys_and_visibility() -> None:
    keys = sem.scope_keys(
        "activities",
        {
            "owner_id": "u2",
            "tags": ["shared"],
            "attendees": [{"email": " Anna@Example.com"}],
            "organizer_email": "boss@example.com",
        },
    )
    assert keys == {"owner:u2", "tag:shared", "attendee:anna@example.com", "attendee:boss@example.com"}
    anna = sem.visibility_keys("u1", "anna@example.com")
    assert sem.in_scope(keys, [anna])
    assert not sem.in_scope({"owner:u2"}, [anna])
    assert sem.in_scope({"owner:u2", "tag:crm"}, [{"tag:crm"}, {"owner:u2"}])
    assert not sem.in_scope({"owner:u2"}, [{"tag:crm"}, {"owner:u2"}])


def test_task_reopen_and_completion_time() -> None:
    assert sem.prepare_patch("tasks", {"status": "open"}) == {"status": "open", "completed_at": None}
    assert sem.prepare_patch("tasks", {"status": "open", "completed_at": "x"}) == {
        "status": "open",
        "completed_at": "x",
    }
    assert sem.prepare_patch("contacts", {"status": "open"}) == {"status": "open"}
    done = sem.finalise("tasks", {"status": "completed", "completed_at": None})
    assert done["completed_at"].endswith("Z")


@pytest.mark.parametrize(
    ("status", "problem", "kind"),
    [
        (401, {}, CrmAuthError),
        (403, {}, CrmAuthError),
        (404, {}, CrmNotFound),
        (412, {"current_version": 7}, CrmConflict),
        (400, {}, CrmValidation),
        (413, {}, CrmValidation),
        (428, {}, CrmValidation),
        (422, {"type": "urn:crm-sync:problem:idempotency-key-reused"}, CrmIdempotencyReuse),
        (429, {}, CrmTransient),
        (503, {}, CrmTransient),
        (418, {}, CrmError),
    ],
)
def test_error_mapping(status: int, problem: dict[str, object], kind: type[CrmError]) -> None:
    err = error_from_problem(status, {"detail": "d", **problem})
    assert type(err) is kind
    assert err.status == status
    if isinstance(err, CrmConflict):
        assert err.current_version == 7


def test_validation_errors_carry_their_paths() -> None:
    err = error_from_problem(
        422, {"detail": "bad", "errors": [{"path": "/emails/0/value", "message": "not an e-mail"}]}
    )
    assert isinstance(err, CrmValidation)
    assert err.errors[0].path == "/emails/0/value"
    assert "bad" in str(err)


def test_retry_after_forms() -> None:
    now = datetime(2026, 11, 22, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("5") == 5.0
    assert parse_retry_after("Sun, 22 Nov 2026 12:00:30 GMT", now) == 30.0
    assert parse_retry_after("Sun, 22 Nov 2026 11:00:00 GMT", now) == 0.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


def test_backoff_is_capped_full_jitter_and_honours_retry_after() -> None:
    conn = RestCrmConnector(
        "http://127.0.0.1:9", "k", backoff_base=0.5, backoff_cap=4.0, max_retry_after=60.0, rand=lambda: 1.0
    )
    assert [conn.backoff(n, None) for n in (1, 2, 3, 4, 5, 6)] == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    assert conn.backoff(1, 10.0) == 10.0
    assert conn.backoff(1, 3600.0) == 60.0
    conn.close()


@pytest.mark.parametrize(
    "kind",
    [
        "idempotency-key-reused",
        "https://crm.example/problems/idempotency-key-reused",
        "urn:other:idempotency-key-reused",
    ],
)
def test_regression_key_reuse_is_recognised_by_its_exact_uri_only(kind: str) -> None:
    """The docs promise crmsync relies on the exact URI: another type that merely ends alike is a
    plain refusal, never read as "your record is this one"."""
    assert type(error_from_problem(422, {"type": "urn:crm-sync:problem:idempotency-key-reused"})) is (
        CrmIdempotencyReuse
    )
    err = error_from_problem(422, {"type": kind, "record_id": "c1"})
    assert type(err) is CrmValidation
