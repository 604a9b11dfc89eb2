"""The one mapper from Google client failures (``HttpError``, transport errors,
refresh errors) to crmsync's error hierarchy."""

from __future__ import annotations

import http.client
import json
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httplib2
from google.auth import exceptions as auth_exceptions
from googleapiclient.errors import HttpError

from ..errors import ConnectionError_, CrmSyncError, NeedsReauth, TransientError


class GoogleError(CrmSyncError):
    """A Google API answered with an error; ``status``/``reason`` say which."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        reason: str | None = None,
        details: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason
        self.details = details or []  # google.rpc detail objects of the error body


class Transient(TransientError):
    """429, 5xx, timeouts, dropped connections, Calendar rate-limit 403s: retry later."""

    def __init__(self, message: str, retry_after: float | None = None, *, status: int | None = None) -> None:
        super().__init__(message, retry_after)
        self.status = status


class SyncTokenExpired(GoogleError):
    """The stored sync token is no longer accepted: do a full listing."""


class EtagMismatch(GoogleError):
    """The record changed since we read it (People 400 etag message, Calendar 412)."""


class NotFound(GoogleError):
    """The record (or collection) does not exist (404, or 410 for a deleted resource)."""


class BadRequest(GoogleError):
    """Google refused this one request for good (a 400 on one record)."""


class AlreadyExists(BadRequest):
    """409: a record with this id or name already exists."""


class PermissionDenied(ConnectionError_):
    """The grant lacks a scope or the account may not use the API: the user must act."""

    def __init__(self, message: str, *, status: int | None = None, reason: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason


RATE_LIMIT_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded", "RATE_LIMIT_EXCEEDED"})
SCOPE_REASONS = frozenset({"insufficientPermissions", "ACCESS_TOKEN_SCOPE_INSUFFICIENT", "SERVICE_DISABLED"})
# Calendar 403s that concern one event, not the whole grant.
RECORD_403_REASONS = frozenset({"forbiddenForNonOrganizer", "forbiddenForServiceAccounts", "forbidden"})
ETAG_MESSAGE = "etag is different"


def retry_after_seconds(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date); None if absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def _error_body(err: HttpError) -> dict[str, Any]:
    try:
        body = json.loads(err.content.decode("utf-8", "replace") if isinstance(err.content, bytes) else err.content)
    except (ValueError, AttributeError):
        return {}
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, dict) else {}


def _reasons(error: dict[str, Any]) -> set[str]:
    """Every reason the body names: legacy ``errors[].reason`` and ErrorInfo ``details[].reason``."""
    found = {str(e.get("reason")) for e in error.get("errors") or [] if isinstance(e, dict) and e.get("reason")}
    for detail in error.get("details") or []:
        if isinstance(detail, dict) and detail.get("reason") and "ErrorInfo" in str(detail.get("@type", "")):
            found.add(str(detail["reason"]))
    return found


def map_http_error(err: HttpError) -> CrmSyncError:
    """The crmsync exception for one ``HttpError`` (callers ``raise ... from err``)."""
    code = int(err.resp.status)
    error = _error_body(err)
    message = str(error.get("message") or err.reason or f"HTTP {code}")
    status = str(error.get("status") or "")
    reasons = _reasons(error)
    reason = next(iter(sorted(reasons)), status or None)
    details = [d for d in error.get("details") or [] if isinstance(d, dict)]
    where = f"Google API {code} {status}".rstrip()
    text = f"{where}: {message}"
    if code == 429 or code >= 500 or code == 408 or (code == 403 and reasons & RATE_LIMIT_REASONS):
        return Transient(text, retry_after_seconds(err.resp.get("retry-after")), status=code)
    if "EXPIRED_SYNC_TOKEN" in reasons or (code == 410 and "fullSyncRequired" in reasons):
        return SyncTokenExpired(text, status=code, reason="EXPIRED_SYNC_TOKEN" if code == 400 else "fullSyncRequired")
    if code == 412 or (code == 400 and ETAG_MESSAGE in message.lower()):
        return EtagMismatch(text, status=code, reason=reason, details=details)
    if code in (404, 410):
        return NotFound(text, status=code, reason=reason, details=details)
    if code == 401:
        return NeedsReauth(f"{text} (the access token was refused after a refresh: reconnect the Google account)")
    if code == 403 and not reasons & RECORD_403_REASONS:
        hint = " (grant the missing permission by reconnecting the Google account)" if reasons & SCOPE_REASONS else ""
        return PermissionDenied(text + hint, status=code, reason=reason)
    if code == 409:
        return AlreadyExists(text, status=code, reason=reason)
    return BadRequest(text, status=code, reason=reason, details=details)


TRANSPORT_ERRORS: tuple[type[BaseException], ...] = (
    httplib2.HttpLib2Error,
    http.client.HTTPException,
    ConnectionError,
    TimeoutError,
    auth_exceptions.TransportError,
)


def map_error(exc: BaseException) -> BaseException:
    """The crmsync exception for any failure of a Google call; unknown exceptions come back unchanged."""
    if isinstance(exc, CrmSyncError):
        return exc
    if isinstance(exc, HttpError):
        return map_http_error(exc)
    if isinstance(exc, auth_exceptions.RefreshError):
        text = str(exc)
        if "invalid_grant" in text:
            return NeedsReauth(f"Google refused the refresh token (invalid_grant): reconnect the account. {text}")
        if getattr(exc, "retryable", False):
            return Transient(f"token refresh failed, will retry: {text}")
        return PermissionDenied(f"token refresh failed: {text}")
    if isinstance(exc, TRANSPORT_ERRORS):
        return Transient(f"connection to Google failed: {type(exc).__name__}: {exc}")
    if isinstance(exc, OSError):
        return Transient(f"network error talking to Google: {type(exc).__name__}: {exc}")
    return exc
