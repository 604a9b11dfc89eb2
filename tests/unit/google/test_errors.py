"""The one error mapper: real-shaped Google error bodies to crmsync exceptions."""

from __future__ import annotations

import http.client
import json
from typing import Any

import httplib2
import pytest
from google.auth.exceptions import RefreshError, TransportError
from googleapiclient.errors import HttpError

from crmsync.errors import ConnectionError_, NeedsReauth, OperatorError, TransientError
from crmsync.google.errors import (
    AlreadyExists,
    BadRequest,
    EtagMismatch,
    NotFound,
    PermissionDenied,
    SyncTokenExpired,
    Transient,
    map_error,
    retry_after_seconds,
)

pytestmark = pytest.mark.unit


def http_error(status: int, body: dict[str, Any] | str, headers: dict[str, str] | None = None) -> HttpError:
    resp = httplib2.Response({"status": str(status), **{k.lower(): v for k, v in (headers or {}).items()}})
    content = body if isinstance(body, str) else json.dumps(body)
    return HttpError(resp, content.encode(), uri="https://people.googleapis.com/v1/people/me/connections")


def rpc(code: int, message: str, status: str, details: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    err: dict[str, Any] = {"code": code, "message": message, "status": status}
    if details:
        err["details"] = details
    return {"error": err}


def calendar(code: int, reason: str, message: str) -> dict[str, Any]:
    return {
        "error": {
            "errors": [{"domain": "global", "reason": reason, "message": message}],
            "code": code,
            "message": message,
        }
    }


EXPIRED_INFO = {
    "@type": "type.googleapis.com/google.rpc.ErrorInfo",
    "reason": "EXPIRED_SYNC_TOKEN",
    "domain": "people.googleapis.com",
}
EXPIRED_MSG = "Sync token is expired. Clear local cache and retry call without the sync token."


@pytest.mark.parametrize("status", ["FAILED_PRECONDITION", "INVALID_ARGUMENT"])
def test_people_expired_sync_token_matches_on_the_reason(status: str) -> None:
    mapped = map_error(http_error(400, rpc(400, EXPIRED_MSG, status, [EXPIRED_INFO])))
    assert isinstance(mapped, SyncTokenExpired)
    assert mapped.status == 400


def test_a_plain_400_failed_precondition_is_not_an_expired_token() -> None:
    mapped = map_error(http_error(400, rpc(400, "Precondition check failed.", "FAILED_PRECONDITION")))
    assert isinstance(mapped, BadRequest)
    assert not isinstance(mapped, SyncTokenExpired)


def test_calendar_410_full_sync_required() -> None:
    err = http_error(410, calendar(410, "fullSyncRequired", "Sync token is no longer valid, a full sync is required."))
    assert isinstance(map_error(err), SyncTokenExpired)
    assert isinstance(map_error(http_error(410, calendar(410, "deleted", "Resource has been deleted"))), NotFound)


def test_etag_mismatch_people_and_calendar() -> None:
    people = rpc(
        400,
        "Request person.etag is different than the current person.etag. Clear local cache and get the latest person.",
        "FAILED_PRECONDITION",
    )
    assert isinstance(map_error(http_error(400, people)), EtagMismatch)
    assert isinstance(map_error(http_error(412, calendar(412, "conditionNotMet", "Precondition Failed"))), EtagMismatch)


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_transient_statuses_carry_retry_after(status: int) -> None:
    body = rpc(status, "Resource has been exhausted (e.g. check quota).", "RESOURCE_EXHAUSTED")
    mapped = map_error(http_error(status, body, {"Retry-After": "7"}))
    assert isinstance(mapped, Transient)
    assert isinstance(mapped, TransientError)
    assert mapped.retry_after == 7.0


@pytest.mark.parametrize("reason", ["rateLimitExceeded", "userRateLimitExceeded"])
def test_calendar_403_rate_limits_are_transient(reason: str) -> None:
    assert isinstance(map_error(http_error(403, calendar(403, reason, "Rate Limit Exceeded"))), Transient)


def test_insufficient_scopes_is_connection_level() -> None:
    body = rpc(
        403,
        "Request had insufficient authentication scopes.",
        "PERMISSION_DENIED",
        [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "ACCESS_TOKEN_SCOPE_INSUFFICIENT"}],
    )
    mapped = map_error(http_error(403, body))
    assert isinstance(mapped, PermissionDenied)
    assert isinstance(mapped, ConnectionError_)
    assert "reconnect" in str(mapped)


def test_calendar_403_on_one_event_is_per_record() -> None:
    body = calendar(403, "forbiddenForNonOrganizer", "Shared properties can only be changed by the organizer.")
    assert isinstance(map_error(http_error(403, body)), BadRequest)


def test_other_statuses() -> None:
    assert isinstance(map_error(http_error(404, rpc(404, "Requested entity was not found.", "NOT_FOUND"))), NotFound)
    assert isinstance(map_error(http_error(409, rpc(409, "exists", "ALREADY_EXISTS"))), AlreadyExists)
    assert isinstance(map_error(http_error(401, rpc(401, "Invalid Credentials", "UNAUTHENTICATED"))), NeedsReauth)
    bad = map_error(http_error(400, rpc(400, "Invalid person.names: at most one", "INVALID_ARGUMENT")))
    assert isinstance(bad, BadRequest)
    assert "at most one" in str(bad)
    assert isinstance(map_error(http_error(502, "<html>Bad Gateway</html>")), Transient)  # not JSON


def test_refresh_and_transport_errors() -> None:
    assert isinstance(map_error(RefreshError("invalid_grant: Token has been expired or revoked.")), NeedsReauth)
    # The deployment's OAuth client is refused: the operator's problem, no user can fix it by reconnecting.
    client = map_error(RefreshError("invalid_client: The OAuth client was not found."))
    assert isinstance(client, OperatorError)
    assert not isinstance(client, ConnectionError_)
    for exc in (
        TimeoutError("timed out"),
        ConnectionResetError(104, "reset"),
        http.client.RemoteDisconnected("Remote end closed connection without response"),
        httplib2.ServerNotFoundError("no dns"),
        TransportError("token endpoint unreachable"),
    ):
        assert isinstance(map_error(exc), Transient), exc
    odd = KeyError("x")
    assert map_error(odd) is odd


def test_retry_after_forms() -> None:
    from datetime import UTC, datetime

    now = datetime(2025, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert retry_after_seconds("30") == 30.0
    assert retry_after_seconds("Wed, 01 Jan 2025 12:00:10 GMT", now=now) == 10.0
    assert retry_after_seconds("Wed, 01 Jan 2025 11:00:00 GMT", now=now) == 0.0
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds(None) is None
