"""The one mapper from Google client failures (``HttpError``, transport errors,
refresh errors) to crmsync's error hierarchy."""

from __future__ import annotations

import http.client
import json
import math
from datetime import UTC, datetime, time, timedelta
from email.utils import parsedate_to_datetime
from typing import Any
from zoneinfo import ZoneInfo

import httplib2
from google.auth import exceptions as auth_exceptions
from googleapiclient.errors import HttpError

from ..errors import ConnectionError_, CrmSyncError, KindBlocked, NeedsReauth, OperatorError, TransientError
from .taxonomy import Handling, QuotaPeriod, QuotaScope, Row, classify


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
    """429, 5xx, timeouts, dropped connections: retry later."""

    def __init__(
        self, message: str, retry_after: float | None = None, *, status: int | None = None, quota: str | None = None
    ) -> None:
        super().__init__(message, retry_after, quota=quota)
        self.status = status


class QuotaExceeded(Transient):
    """A quota is used up (see ``taxonomy``): per-minute ones are retried in the call like any
    transient error; ``retry_after`` is Google's Retry-After, or for daily and usage limits the
    time until they reset — never a reason to reconnect."""

    def __init__(
        self,
        message: str,
        retry_after: float | None,
        *,
        status: int,
        scope: QuotaScope,
        period: QuotaPeriod,
        reason: str | None = None,
    ) -> None:
        super().__init__(message, retry_after, status=status, quota=f"{scope.value} {period.value} quota")
        self.scope, self.period, self.reason = scope, period, reason

    def wait_seconds(self, now: datetime) -> float | None:
        """Until the quota resets: midnight Pacific for a daily quota, else ``retry_after``."""
        if self.period is QuotaPeriod.DAY:
            return seconds_to_daily_reset(now)
        return self.retry_after


class SyncTokenExpired(GoogleError):
    """The stored sync token (or updatedMin) is no longer accepted: do a full listing."""


class EtagMismatch(GoogleError):
    """The record changed since we read it (People 400 etag message, Calendar 412)."""


class NotFound(GoogleError):
    """The record (or collection) does not exist (404, or 410 for a deleted resource)."""


class BadRequest(GoogleError):
    """Google refused this one request for good (a 400 on one record)."""


class AlreadyExists(BadRequest):
    """409: a record with this id or name already exists."""


class PermissionDenied(ConnectionError_):
    """The grant lacks a scope, or Google refuses the credentials: only the user can fix it, by reconnecting."""

    def __init__(self, message: str, *, status: int | None = None, reason: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason


class Blocked(KindBlocked):
    """The account may not use this API (its admin's policy, its account type): that kind stops."""

    def __init__(self, message: str, *, status: int | None = None, reason: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason


class Misconfigured(OperatorError):
    """The deployment's Cloud project or OAuth client is refused (API not enabled, billing, ...)."""

    def __init__(self, message: str, *, alert: str, status: int | None = None, reason: str | None = None) -> None:
        super().__init__(message, alert=alert)
        self.status = status
        self.reason = reason


ETAG_MESSAGE = "etag is different"
PACIFIC = ZoneInfo("America/Los_Angeles")  # Google's daily quotas reset at midnight Pacific time
USAGE_LIMIT_WAIT = 3600.0  # Calendar usage limits replenish over time; look again in an hour


def retry_after_seconds(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date); None if absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if math.isfinite(seconds) else None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def seconds_to_daily_reset(now: datetime | None = None) -> float:
    """Seconds until the next midnight Pacific time, when Google's daily quotas reset."""
    here = (now or datetime.now(UTC)).astimezone(PACIFIC)
    midnight = datetime.combine(here.date() + timedelta(days=1), time(), PACIFIC)
    return max(1.0, (midnight.astimezone(UTC) - here.astimezone(UTC)).total_seconds())


def _error_body(err: HttpError) -> dict[str, Any]:
    try:
        body = json.loads(err.content.decode("utf-8", "replace") if isinstance(err.content, bytes) else err.content)
    except (ValueError, AttributeError):
        return {}
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, dict) else {}


def _reasons(error: dict[str, Any]) -> list[str]:
    """Every reason the body names: legacy ``errors[].reason`` and ErrorInfo ``details[].reason``."""
    found = [str(e.get("reason")) for e in error.get("errors") or [] if isinstance(e, dict) and e.get("reason")]
    for detail in error.get("details") or []:
        if isinstance(detail, dict) and detail.get("reason") and "ErrorInfo" in str(detail.get("@type", "")):
            found.append(str(detail["reason"]))
    return list(dict.fromkeys(found))


def _quota_of(row: Row, error: dict[str, Any], message: str) -> tuple[QuotaScope, QuotaPeriod]:
    """Whose quota and over what period: the ErrorInfo's ``quota_limit`` (or the message's
    "limit '... per day'") says it when present, the row's default otherwise."""
    texts = [message]
    for detail in error.get("details") or []:
        if isinstance(detail, dict) and isinstance(detail.get("metadata"), dict):
            texts += [str(v) for k, v in detail["metadata"].items() if k in ("quota_limit", "quota_metric")]
        for violation in (detail.get("violations") or []) if isinstance(detail, dict) else []:
            if isinstance(violation, dict):
                texts.append(str(violation.get("description", "")))
    text = " ".join(texts).lower().replace(" ", "")
    scope, period = row.scope or QuotaScope.USER, row.period or QuotaPeriod.MINUTE
    if "perday" in text or "dailylimit" in text:
        period = QuotaPeriod.DAY
    elif "perminute" in text or "per100seconds" in text:
        period = QuotaPeriod.MINUTE
    if "peruser" in text:
        scope = QuotaScope.USER
    elif "perproject" in text or (period is QuotaPeriod.DAY and "limit'" in text):
        scope = QuotaScope.PROJECT
    return scope, period


def map_http_error(err: HttpError, *, now: datetime | None = None) -> CrmSyncError:
    """The crmsync exception for one ``HttpError`` (callers ``raise ... from err``), by ``taxonomy.TABLE``."""
    code = int(err.resp.status)
    error = _error_body(err)
    message = str(error.get("message") or err.reason or f"HTTP {code}")
    status = str(error.get("status") or "")
    reasons = _reasons(error)
    if code == 400 and ETAG_MESSAGE in message.lower():
        reasons.append("conditionNotMet")  # People's stale etag is a 400 FAILED_PRECONDITION
    row = classify(code, reasons, status or None)
    reason = row.reason if row.reason in reasons else next(iter(reasons), status or None)
    details = [d for d in error.get("details") or [] if isinstance(d, dict)]
    text = f"{f'Google API {code} {status}'.rstrip()}: {message}"
    retry_after = retry_after_seconds(err.resp.get("retry-after"), now=now)
    match row.handling:
        case Handling.TRANSIENT:
            return Transient(text, retry_after, status=code)
        case Handling.QUOTA:
            scope, period = _quota_of(row, error, message)
            if period is QuotaPeriod.DAY:
                retry_after = max(retry_after or 0.0, seconds_to_daily_reset(now))
            elif period is QuotaPeriod.HOURS:
                retry_after = max(retry_after or 0.0, USAGE_LIMIT_WAIT)
            where = "the project's" if scope is QuotaScope.PROJECT else "this user's"
            text += f" ({where} {period.value} quota; waiting until it resets)"
            return QuotaExceeded(text, retry_after, status=code, scope=scope, period=period, reason=reason)
        case Handling.RESYNC:
            return SyncTokenExpired(text, status=code, reason=reason)
        case Handling.CONFLICT:
            return EtagMismatch(text, status=code, reason=reason, details=details)
        case Handling.GONE:
            return NotFound(text, status=code, reason=reason, details=details)
        case Handling.RECONNECT if code == 401:
            return NeedsReauth(f"{text} (the access token was refused after a refresh: reconnect the Google account)")
        case Handling.RECONNECT:
            return PermissionDenied(
                f"{text} (Google no longer accepts this connection's access for this: reconnect the Google account "
                "and grant every requested permission)",
                status=code,
                reason=reason,
            )
        case Handling.KIND_STOPPED:
            return Blocked(
                f"{text} (this Google account may not use this API: its administrator or account type blocks it)",
                status=code,
                reason=reason,
            )
        case Handling.OPERATOR:
            return Misconfigured(
                f"{text} (the deployment's Google Cloud project needs the operator: {row.meaning})",
                alert=row.alert or "google.misconfigured",
                status=code,
                reason=reason,
            )
    if row.reason == "duplicate" or (code == 409 and row.handling is Handling.RECORD):
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
        if "invalid_client" in text or "unauthorized_client" in text:
            return Misconfigured(
                f"Google refused the OAuth client when refreshing a token: check the client id and secret. {text}",
                alert="google.oauth_client_invalid",
            )
        return PermissionDenied(f"token refresh failed: {text}")
    if isinstance(exc, TRANSPORT_ERRORS):
        return Transient(f"connection to Google failed: {type(exc).__name__}: {exc}")
    if isinstance(exc, OSError):
        return Transient(f"network error talking to Google: {type(exc).__name__}: {exc}")
    return exc
