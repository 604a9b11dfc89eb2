"""One test per row of the Google error table, and the table covers every reason Google publishes.

Sources: Calendar "Handle API errors" (developers.google.com/workspace/calendar/api/guides/errors),
google.rpc.Code and google.api.ErrorReason (the protos shipped in googleapis-common-protos, so a
reason Google adds later fails ``test_every_published_error_reason_has_a_row``), People's
EXPIRED_SYNC_TOKEN (people.connections.list), and ../shared/design/GOOGLE_APIS.md.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import httplib2
import pytest
from google.api import error_reason_pb2
from google.rpc import code_pb2
from googleapiclient.errors import HttpError

from crmsync.errors import ConnectionError_, KindStopped, OperatorError, TransientError, quota_wait
from crmsync.google.errors import (
    AlreadyExists,
    BadRequest,
    Blocked,
    EtagMismatch,
    Misconfigured,
    NotFound,
    PermissionDenied,
    QuotaExceeded,
    SyncTokenExpired,
    Transient,
    map_error,
    map_http_error,
    seconds_to_daily_reset,
)
from crmsync.google.taxonomy import TABLE, Handling, QuotaPeriod, QuotaScope, Row, classify

pytestmark = pytest.mark.unit
RPC_CODES = {name for name, number in code_pb2.Code.items() if number != 0}
RPC_HTTP = {
    "CANCELLED": 499,
    "UNKNOWN": 500,
    "INVALID_ARGUMENT": 400,
    "DEADLINE_EXCEEDED": 504,
    "NOT_FOUND": 404,
    "ALREADY_EXISTS": 409,
    "PERMISSION_DENIED": 403,
    "UNAUTHENTICATED": 401,
    "RESOURCE_EXHAUSTED": 429,
    "FAILED_PRECONDITION": 400,
    "ABORTED": 409,
    "OUT_OF_RANGE": 400,
    "UNIMPLEMENTED": 501,
    "INTERNAL": 500,
    "UNAVAILABLE": 503,
    "DATA_LOSS": 500,
}
EXPECTED: dict[Handling, type[BaseException]] = {
    Handling.TRANSIENT: Transient,
    Handling.QUOTA: QuotaExceeded,
    Handling.RESYNC: SyncTokenExpired,
    Handling.CONFLICT: EtagMismatch,
    Handling.RECORD: BadRequest,
    Handling.GONE: NotFound,
    Handling.KIND_STOPPED: Blocked,
    Handling.OPERATOR: Misconfigured,
    Handling.RECONNECT: ConnectionError_,
}


def http_error(status: int, body: dict[str, Any] | str, headers: dict[str, str] | None = None) -> HttpError:
    resp = httplib2.Response({"status": str(status), **{k.lower(): v for k, v in (headers or {}).items()}})
    content = body if isinstance(body, str) else json.dumps(body)
    return HttpError(resp, content.encode(), uri="https://www.googleapis.com/calendar/v3/calendars/primary/events")


def legacy(code: int, reason: str, message: str, domain: str = "global") -> dict[str, Any]:
    """Calendar's shape (and Tasks' errors[] beside the rpc status)."""
    return {
        "error": {
            "errors": [{"domain": domain, "reason": reason, "message": message}],
            "code": code,
            "message": message,
        }
    }


def rpc(code: int, status: str, message: str = "refused", info: str | None = None, **meta: str) -> dict[str, Any]:
    """People's shape: google.rpc.Status with an optional ErrorInfo detail."""
    err: dict[str, Any] = {"code": code, "message": message, "status": status}
    if info:
        detail: dict[str, Any] = {
            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
            "reason": info,
            "domain": "googleapis.com",
        }
        if meta:
            detail["metadata"] = meta
        err["details"] = [detail]
    return {"error": err}


def reply_for(row: Row) -> tuple[int, dict[str, Any] | str]:
    """A reply Google would send for ``row`` (its status, in the shape its reason comes in)."""
    reason = row.reason
    if reason is None:
        assert row.status is not None
        return row.status, "<html>error</html>" if row.status >= 500 else {
            "error": {"code": row.status, "message": "x"}
        }
    if reason in RPC_CODES:
        return RPC_HTTP[reason], rpc(RPC_HTTP[reason], reason)
    if reason.isupper():  # an ErrorInfo reason
        status = row.status or {Handling.QUOTA: 429, Handling.TRANSIENT: 401, Handling.RESYNC: 400}.get(
            row.handling, 403
        )
        return status, rpc(status, "PERMISSION_DENIED" if status == 403 else "FAILED_PRECONDITION", info=reason)
    exact = {(r.status, r.reason) for r in TABLE if r.status is not None}
    preferred = [400, 403, 429] if row.handling is Handling.RECORD else [403, 429, 400]
    status = row.status or next(s for s in preferred if (s, reason) not in exact)
    return status, legacy(status, reason, row.meaning)


@pytest.mark.parametrize("row", TABLE, ids=lambda r: f"{r.status}-{r.reason}")
def test_each_row_is_the_handling_of_its_reply(row: Row) -> None:
    status, body = reply_for(row)
    err = http_error(status, body)
    assert classify(status, _reasons(body), _status(body)) == row
    mapped = map_error(err)
    assert isinstance(mapped, EXPECTED[row.handling]), (row, mapped)
    if row.handling is Handling.TRANSIENT:
        assert not isinstance(mapped, QuotaExceeded)
    if row.handling is Handling.OPERATOR:
        assert isinstance(mapped, OperatorError) and mapped.alert == row.alert and mapped.alert.startswith("google.")
        assert not isinstance(mapped, ConnectionError_)
    if row.handling is Handling.QUOTA:
        assert isinstance(mapped, TransientError) and not isinstance(mapped, ConnectionError_)
        assert quota_wait(mapped) is mapped
    if row.handling is Handling.KIND_STOPPED:
        assert isinstance(mapped, KindStopped) and not isinstance(mapped, ConnectionError_)
    if row.handling is not Handling.RECONNECT:
        assert not isinstance(mapped, ConnectionError_)


def _reasons(body: dict[str, Any] | str) -> list[str]:
    if isinstance(body, str):
        return []
    err = body["error"]
    return [e["reason"] for e in err.get("errors", [])] + [d["reason"] for d in err.get("details", [])]


def _status(body: dict[str, Any] | str) -> str | None:
    return None if isinstance(body, str) else body["error"].get("status")


def test_every_published_error_reason_has_a_row() -> None:
    reasons = {r.reason for r in TABLE}
    published = set(error_reason_pb2.ErrorReason.keys()) - {"ERROR_REASON_UNSPECIFIED"}
    assert published - reasons == set()
    assert RPC_CODES - reasons == set()
    calendar_guide = {
        "timeRangeEmpty", "authError", "dailyLimitExceeded", "userRateLimitExceeded", "rateLimitExceeded",
        "quotaExceeded", "forbiddenForNonOrganizer", "notFound", "duplicate", "conflict", "fullSyncRequired",
        "updatedMinTooLongAgo", "deleted", "conditionNotMet", "backendError",
    }  # fmt: skip
    google_apis_md = {
        "insufficientPermissions", "accessNotConfigured", "EXPIRED_SYNC_TOKEN", "RATE_LIMIT_EXCEEDED", "failedPrecondition",
        "authError", "duplicate", "deleted", "conditionNotMet", "userRateLimitExceeded", "RESOURCE_EXHAUSTED",
        "FAILED_PRECONDITION", "INVALID_ARGUMENT",
    }  # fmt: skip
    assert (calendar_guide | google_apis_md) - reasons == set()
    keys = [(r.status, r.reason) for r in TABLE]
    assert len(keys) == len(set(keys)), "a (status, reason) pair has two rows"


# --------------------------------------------------------------------------- the replies of issue 11 §4


def test_calendar_usage_limits_are_a_user_quota_not_a_permission_problem() -> None:
    """Before: 403 quotaExceeded mapped to PermissionDenied and the worker marked the connection needs_reauth."""
    err = http_error(403, legacy(403, "quotaExceeded", "Calendar usage limits exceeded.", "usageLimits"))
    mapped = map_error(err)
    assert isinstance(mapped, QuotaExceeded)
    assert (mapped.scope, mapped.period) == (QuotaScope.USER, QuotaPeriod.HOURS)
    assert mapped.retry_after == 3600
    assert not isinstance(mapped, ConnectionError_)


def test_calendar_daily_limit_waits_until_midnight_pacific() -> None:
    now = datetime(2026, 12, 2, 6, 0, tzinfo=UTC)  # 22:00 the day before in Los Angeles
    err = http_error(403, legacy(403, "dailyLimitExceeded", "Daily Limit Exceeded", "usageLimits"))
    mapped = map_http_error(err, now=now)
    assert isinstance(mapped, QuotaExceeded)
    assert (mapped.scope, mapped.period) == (QuotaScope.PROJECT, QuotaPeriod.DAY)
    assert mapped.retry_after == 2 * 3600 == seconds_to_daily_reset(now)
    summer = datetime(2026, 7, 1, 6, 59, 30, tzinfo=UTC)  # 23:59:30 PDT
    assert seconds_to_daily_reset(summer) == 30


@pytest.mark.parametrize(
    ("code", "reason"), [(403, "rateLimitExceeded"), (403, "userRateLimitExceeded"), (429, "rateLimitExceeded")]
)
def test_calendar_rate_limits_are_per_minute_and_keep_retry_after(code: int, reason: str) -> None:
    mapped = map_error(
        http_error(code, legacy(code, reason, "Rate Limit Exceeded", "usageLimits"), {"Retry-After": "7"})
    )
    assert isinstance(mapped, QuotaExceeded)
    assert (mapped.period, mapped.retry_after) == (QuotaPeriod.MINUTE, 7.0)


def test_people_quota_errorinfo_says_whose_quota_and_for_how_long() -> None:
    minute = rpc(
        429,
        "RESOURCE_EXHAUSTED",
        "Quota exceeded for quota metric 'Critical read requests (Contact and Profile Reads)' and limit "
        "'Critical read requests (Contact and Profile Reads) per minute per user' of service 'people.googleapis.com'",
        info="RATE_LIMIT_EXCEEDED",
        quota_limit="ReadRequestsPerMinutePerUser",
        quota_metric="people.googleapis.com/read_requests",
        service="people.googleapis.com",
    )
    got = map_error(http_error(429, minute))
    assert isinstance(got, QuotaExceeded)
    assert (got.scope, got.period) == (QuotaScope.USER, QuotaPeriod.MINUTE)
    daily = rpc(
        429,
        "RESOURCE_EXHAUSTED",
        "Quota exceeded for quota metric 'Queries' and limit 'Queries per day' of service 'tasks.googleapis.com'",
        info="RATE_LIMIT_EXCEEDED",
        quota_limit="defaultPerDayPerProject",
        quota_metric="tasks.googleapis.com/default",
    )
    got = map_error(http_error(429, daily))
    assert isinstance(got, QuotaExceeded)
    assert (got.scope, got.period) == (QuotaScope.PROJECT, QuotaPeriod.DAY)
    assert got.retry_after is not None and got.retry_after > 60


def test_api_not_enabled_is_the_operators_not_the_users() -> None:
    """Before: SERVICE_DISABLED and accessNotConfigured asked every user to reconnect."""
    people = rpc(
        403,
        "PERMISSION_DENIED",
        "People API has not been used in project 123 before or it is disabled.",
        info="SERVICE_DISABLED",
        service="people.googleapis.com",
        consumer="projects/123",
    )
    calendar = legacy(
        403,
        "accessNotConfigured",
        "Access Not Configured. Calendar API has not been used in project 123",
        "usageLimits",
    )
    for body in (people, calendar):
        mapped = map_error(http_error(403, body))
        assert isinstance(mapped, Misconfigured)
        assert mapped.alert == "google.api_not_enabled"
        assert not isinstance(mapped, ConnectionError_)


def test_missing_scopes_and_revoked_access_still_ask_to_reconnect() -> None:
    scope = rpc(
        403,
        "PERMISSION_DENIED",
        "Request had insufficient authentication scopes.",
        info="ACCESS_TOKEN_SCOPE_INSUFFICIENT",
    )
    assert isinstance(map_error(http_error(403, scope)), PermissionDenied)
    assert isinstance(
        map_error(http_error(403, legacy(403, "insufficientPermissions", "Insufficient Permission"))), PermissionDenied
    )
    assert isinstance(map_error(http_error(401, legacy(401, "authError", "Invalid Credentials"))), ConnectionError_)


def test_updated_min_too_long_ago_asks_for_a_full_listing_and_batch_conflict_is_retried() -> None:
    """Before: 410 updatedMinTooLongAgo was a NotFound and 409 conflict an AlreadyExists."""
    too_old = legacy(
        410, "updatedMinTooLongAgo", "The requested minimum modification time lies too far in the past.", "calendar"
    )
    assert isinstance(map_error(http_error(410, too_old)), SyncTokenExpired)
    conflict = map_error(http_error(409, legacy(409, "conflict", "Conflict")))
    assert isinstance(conflict, Transient) and not isinstance(conflict, AlreadyExists)
    assert isinstance(
        map_error(http_error(409, legacy(409, "duplicate", "The requested identifier already exists."))), AlreadyExists
    )


def test_a_domain_policy_stops_the_kind_without_reconnecting() -> None:
    mapped = map_error(
        http_error(403, legacy(403, "domainPolicy", "The domain administrators have disabled Calendar for this app."))
    )
    assert isinstance(mapped, Blocked) and isinstance(mapped, KindStopped)


def test_a_people_etag_mismatch_is_a_conflict_whatever_reason_it_carries() -> None:
    body = rpc(
        400, "FAILED_PRECONDITION", "Request person.etag is different than the current person.etag. Clear local cache."
    )
    body["error"]["errors"] = [{"domain": "global", "reason": "failedPrecondition", "message": "x"}]
    assert isinstance(map_error(http_error(400, body)), EtagMismatch)


def test_several_reasons_the_most_drastic_handling_decides() -> None:
    body = rpc(403, "PERMISSION_DENIED", "x", info="SERVICE_DISABLED")
    body["error"]["errors"] = [{"domain": "global", "reason": "forbidden", "message": "x"}]
    assert isinstance(map_error(http_error(403, body)), Misconfigured)
    assert classify(418, []).handling is Handling.RECORD  # a status no row names: refused, not retried forever
    assert classify(507, []).handling is Handling.TRANSIENT


def test_quota_wait_finds_the_quota_behind_a_wrapping_error() -> None:
    quota = map_error(http_error(403, legacy(403, "dailyLimitExceeded", "Daily Limit Exceeded", "usageLimits")))
    outer = TransientError("run interrupted", retry_after=quota.retry_after)
    outer.__cause__ = quota  # as ``raise ... from quota`` leaves it
    assert quota_wait(outer) is quota
    assert quota_wait(TransientError("plain 503")) is None


def test_a_write_to_a_read_only_calendar_is_refused_not_taken_for_already_deleted() -> None:
    """A delete answered 403 requiredAccessLevel must not count as "already gone" (the event stays)."""
    body = legacy(403, "requiredAccessLevel", "You need to have writer access to this calendar.", "calendar")
    mapped = map_error(http_error(403, body))
    assert isinstance(mapped, BadRequest) and not isinstance(mapped, NotFound)
