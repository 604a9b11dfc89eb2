"""The one table of Google error replies: what each means for a sync and how it is handled.

Every reason Google publishes for the APIs crmsync calls has a row: the Calendar guide
"Handle API errors" (legacy ``errors[].reason``), the google.rpc status codes People and
Tasks answer with, the ``google.api.ErrorReason`` values of ``ErrorInfo`` details, and the
legacy ``global``/``usageLimits`` reasons Tasks still carries. ``errors.map_http_error``
turns a row into the exception the sync acts on; tests check one reply per row.

Handling, from the least to the most drastic:

- ``TRANSIENT``: retry with backoff, honour Retry-After.
- ``QUOTA``: a project or user quota, per minute or per day: wait until it resets (per-minute
  ones are retried in the call like transient ones); never a reason to reconnect.
- ``RESYNC``: the sync token (or ``updatedMin``) is refused: list in full.
- ``CONFLICT``: the record changed since it was read (etag): re-read and merge.
- ``RECORD``: Google refuses this one request: the record is skipped with its reason.
- ``GONE``: what the request names does not exist. A record: skipped or relinked. A
  collection a setting names (a read calendar, a task list): that kind stops, the message
  names the setting (the caller knows which setting it was and converts).
- ``KIND_STOPPED``: the account may not use this API (its admin's policy): that kind stops
  with a message until someone acts; the other kinds go on.
- ``OPERATOR``: the deployment is misconfigured (API not enabled, billing, OAuth client):
  alert the operator, keep every connection.
- ``RECONNECT``: only the user can fix it, by reconnecting: ``invalid_grant``, revoked
  access, missing scopes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum


class Handling(StrEnum):
    TRANSIENT = "transient"
    QUOTA = "quota"
    RESYNC = "resync"
    CONFLICT = "conflict"
    RECORD = "record"
    GONE = "gone"
    KIND_STOPPED = "kind_stopped"
    OPERATOR = "operator"
    RECONNECT = "reconnect"


class QuotaScope(StrEnum):
    USER = "user"  # one Google account's share
    PROJECT = "project"  # the whole deployment's Cloud project: every user waits


class QuotaPeriod(StrEnum):
    MINUTE = "minute"  # a sliding per-minute (or per-100-seconds) window
    HOURS = "hours"  # Calendar's usage limits (spam protection): replenish over hours
    DAY = "day"  # a daily quota: resets at midnight Pacific time


@dataclass(frozen=True)
class Row:
    """One documented reply: HTTP status (None: any), reason (None: any), and its handling."""

    handling: Handling
    status: int | None
    reason: str | None
    meaning: str
    scope: QuotaScope | None = None  # QUOTA rows: whose quota (ErrorInfo metadata may say otherwise)
    period: QuotaPeriod | None = None
    alert: str | None = None  # OPERATOR rows: the stable code operators alert on


T, Q, S, C, R, G, K, OP, X = (
    Handling.TRANSIENT,
    Handling.QUOTA,
    Handling.RESYNC,
    Handling.CONFLICT,
    Handling.RECORD,
    Handling.GONE,
    Handling.KIND_STOPPED,
    Handling.OPERATOR,
    Handling.RECONNECT,
)
USER, PROJECT = QuotaScope.USER, QuotaScope.PROJECT
MINUTE, HOURS, DAY = QuotaPeriod.MINUTE, QuotaPeriod.HOURS, QuotaPeriod.DAY


def _op(status: int | None, reason: str, meaning: str, alert: str) -> Row:
    return Row(OP, status, reason, meaning, alert=f"google.{alert}")


# Exact (status, reason) rows come first, then reason-only rows, then status-only fallbacks.
TABLE: tuple[Row, ...] = (
    # --- Calendar "Handle API errors" (legacy errors[].reason) ------------------------------
    Row(R, 400, "timeRangeEmpty", "the time range asked for is empty (domain calendar)"),
    Row(X, 401, "authError", "the access token is refused after a refresh: access was revoked"),
    Row(Q, 403, "dailyLimitExceeded", "the project's daily quota is used up (Courtesy API limit)", PROJECT, DAY),
    Row(Q, 403, "userRateLimitExceeded", "the per-user per-minute quota is used up", USER, MINUTE),
    Row(Q, 403, "rateLimitExceeded", "the request rate per calendar or per user is too high", USER, MINUTE),
    Row(Q, 403, "quotaExceeded", "Calendar usage limits exceeded (spam protection of this user)", USER, HOURS),
    Row(R, 403, "forbiddenForNonOrganizer", "shared properties can only be changed by the organizer"),
    Row(R, 403, "forbiddenForServiceAccounts", "service accounts cannot invite attendees"),
    Row(G, 404, "notFound", "the resource does not exist or the user cannot access it"),
    Row(R, 409, "duplicate", "the requested identifier already exists"),
    Row(T, 409, "conflict", "a batched item conflicts with another item of the batch: retry it alone"),
    Row(S, 410, "fullSyncRequired", "the sync token is no longer valid: a full sync is required"),
    Row(S, 410, "updatedMinTooLongAgo", "updatedMin lies too far in the past: a full sync is required"),
    Row(G, 410, "deleted", "the resource has been deleted"),
    Row(C, 412, "conditionNotMet", "the If-Match etag is stale"),
    Row(Q, 429, "rateLimitExceeded", "too many requests (per-minute quota)", USER, MINUTE),
    Row(T, 500, "backendError", "an unexpected error at Google: retry with backoff"),
    # --- Legacy reasons other Google APIs (Tasks among them) carry --------------------------
    Row(R, None, "badRequest", "the request is invalid"),
    Row(R, None, "invalid", "a value is invalid"),
    Row(R, None, "invalidParameter", "a parameter is invalid"),
    Row(R, None, "required", "a required value is missing"),
    Row(R, None, "parseError", "the body could not be parsed"),
    Row(R, None, "badContent", "the content type is not supported"),
    Row(R, None, "cannotChangeOrganizer", "the organizer cannot be changed this way"),
    Row(R, None, "cannotChangeOrganizerOfInstance", "the organizer of an instance cannot be changed"),
    Row(R, None, "forbidden", "this request is not allowed on this resource"),
    Row(
        R, None, "failedPrecondition", "the resource is not in the state the request needs (People's etag: see errors)"
    ),
    Row(R, None, "requiredAccessLevel", "the calendar is not writable by this user: this write is refused"),
    Row(R, None, "limitExceeded", "a limit of this resource is reached (too many items)"),
    Row(R, None, "responseTooLarge", "the answer would be too large"),
    Row(R, None, "notImplemented", "this operation is not implemented"),
    Row(G, None, "notFound", "the resource does not exist"),
    Row(G, None, "deleted", "the resource has been deleted"),
    Row(R, None, "duplicate", "the resource already exists"),
    Row(C, None, "conditionNotMet", "the etag is stale"),
    Row(X, None, "insufficientPermissions", "the grant lacks a scope this call needs: reconnect"),
    Row(X, None, "authError", "the credentials are refused"),
    Row(X, None, "unknownAuth", "the credentials are not recognised"),
    Row(K, None, "domainPolicy", "the account's Workspace admin does not allow this app"),
    Row(K, None, "accountDisabled", "the Google account is disabled"),
    Row(Q, None, "dailyLimitExceeded", "the project's daily quota is used up", PROJECT, DAY),
    Row(Q, None, "userRateLimitExceeded", "the per-user rate limit is reached", USER, MINUTE),
    Row(Q, None, "rateLimitExceeded", "the rate limit is reached", USER, MINUTE),
    Row(Q, None, "quotaExceeded", "a usage limit is reached", USER, HOURS),
    Row(Q, None, "variableTermLimitExceeded", "a variable-term limit is reached", USER, HOURS),
    Row(T, None, "servingLimitExceeded", "Google is shedding load: retry with backoff"),
    Row(T, None, "backendError", "a backend error: retry with backoff"),
    Row(T, None, "internalError", "an internal error: retry with backoff"),
    Row(T, None, "conflict", "a concurrent change: retry"),
    _op(None, "accessNotConfigured", "the API is not enabled for the project", "api_not_enabled"),
    _op(None, "dailyLimitExceededUnreg", "calls carry no project: the API key or client is missing", "no_project"),
    _op(None, "keyInvalid", "the API key is invalid", "api_key_invalid"),
    _op(None, "keyExpired", "the API key has expired", "api_key_invalid"),
    _op(None, "ipRefererBlocked", "the API key does not allow this caller", "api_key_blocked"),
    _op(None, "sslRequired", "the call must use TLS", "transport"),
    # --- ErrorInfo reasons (google.api.ErrorReason) ------------------------------------------
    _op(None, "SERVICE_DISABLED", "the API is not enabled for the project", "api_not_enabled"),
    _op(None, "BILLING_DISABLED", "billing is disabled for the project", "billing_disabled"),
    _op(None, "API_KEY_INVALID", "the API key is invalid", "api_key_invalid"),
    _op(None, "API_KEY_SERVICE_BLOCKED", "the API key may not call this API", "api_key_blocked"),
    _op(None, "API_KEY_HTTP_REFERRER_BLOCKED", "the API key does not allow this referrer", "api_key_blocked"),
    _op(None, "API_KEY_IP_ADDRESS_BLOCKED", "the API key does not allow this address", "api_key_blocked"),
    _op(None, "API_KEY_ANDROID_APP_BLOCKED", "the API key does not allow this app", "api_key_blocked"),
    _op(None, "API_KEY_IOS_APP_BLOCKED", "the API key does not allow this app", "api_key_blocked"),
    Row(Q, None, "RATE_LIMIT_EXCEEDED", "a rate quota is used up (metadata names which)", USER, MINUTE),
    Row(Q, None, "RESOURCE_QUOTA_EXCEEDED", "a resource quota of the project is used up", PROJECT, DAY),
    _op(None, "LOCATION_TAX_POLICY_VIOLATED", "the project's billing location forbids the call", "billing_disabled"),
    _op(None, "USER_PROJECT_DENIED", "the caller may not use the project it names", "project_denied"),
    _op(None, "CONSUMER_SUSPENDED", "the project is suspended", "project_suspended"),
    _op(None, "CONSUMER_INVALID", "the project is invalid or deleted", "project_invalid"),
    _op(None, "SECURITY_POLICY_VIOLATED", "an organisation security policy refuses the call", "security_policy"),
    Row(T, None, "ACCESS_TOKEN_EXPIRED", "the access token expired: refresh and retry"),
    Row(X, None, "ACCESS_TOKEN_SCOPE_INSUFFICIENT", "the grant lacks a scope this call needs: reconnect"),
    Row(X, None, "ACCOUNT_STATE_INVALID", "the Google account is deleted or disabled: reconnect another"),
    _op(None, "ACCESS_TOKEN_TYPE_UNSUPPORTED", "this kind of token is not accepted", "credentials"),
    _op(None, "CREDENTIALS_MISSING", "the call carried no credentials", "credentials"),
    _op(None, "RESOURCE_PROJECT_INVALID", "the project named in the call is invalid", "project_invalid"),
    _op(None, "SESSION_COOKIE_INVALID", "a session cookie is invalid", "credentials"),
    Row(K, None, "USER_BLOCKED_BY_ADMIN", "the account's admin blocked this app"),
    _op(None, "RESOURCE_USAGE_RESTRICTION_VIOLATED", "a resource usage restriction refuses it", "security_policy"),
    _op(None, "SYSTEM_PARAMETER_UNSUPPORTED", "a system parameter is not supported", "client"),
    Row(K, None, "ORG_RESTRICTION_VIOLATION", "the account's organisation restricts this call"),
    _op(None, "ORG_RESTRICTION_HEADER_INVALID", "an org-restriction header is malformed", "client"),
    _op(None, "SERVICE_NOT_VISIBLE", "the API is not visible to the project", "api_not_enabled"),
    _op(None, "GCP_SUSPENDED", "the project's Cloud account is suspended", "project_suspended"),
    _op(None, "LOCATION_POLICY_VIOLATED", "a location policy refuses the call", "security_policy"),
    _op(None, "MISSING_ORIGIN", "the call lacks an Origin header", "client"),
    _op(None, "OVERLOADED_CREDENTIALS", "more than one credential was sent", "credentials"),
    _op(None, "LOCATION_ORG_POLICY_VIOLATED", "an organisation location policy refuses it", "security_policy"),
    _op(None, "TLS_ORG_POLICY_VIOLATED", "an organisation TLS policy refuses it", "security_policy"),
    Row(Q, None, "EMULATOR_QUOTA_EXCEEDED", "an emulator's quota is used up", PROJECT, MINUTE),
    _op(None, "CREDENTIAL_ANDROID_APP_INVALID", "the credential's app is invalid", "credentials"),
    _op(None, "IAM_PERMISSION_DENIED", "the project's identity lacks an IAM permission", "iam"),
    _op(None, "JWT_TOKEN_INVALID", "a JWT is invalid", "credentials"),
    _op(None, "CREDENTIAL_TYPE_UNSUPPORTED", "this credential type is not accepted", "credentials"),
    Row(K, None, "ACCOUNT_TYPE_UNSUPPORTED", "this kind of Google account cannot use the API"),
    _op(None, "ENDPOINT_USAGE_RESTRICTION_VIOLATED", "the endpoint may not be used so", "security_policy"),
    _op(None, "TLS_CIPHER_RESTRICTION_VIOLATED", "the TLS cipher is refused", "transport"),
    _op(None, "MCP_SERVER_DISABLED", "an MCP server is disabled", "api_not_enabled"),
    Row(S, None, "EXPIRED_SYNC_TOKEN", "People: the sync token expired (7 days): a full sync is required"),
    # --- google.rpc status codes (People, Tasks), used when no reason decides ---------------
    Row(T, None, "CANCELLED", "the request was cancelled (usually by the caller)"),
    Row(T, None, "UNKNOWN", "an unknown server error"),
    Row(R, None, "INVALID_ARGUMENT", "an argument is invalid"),
    Row(T, None, "DEADLINE_EXCEEDED", "the deadline passed before the request finished"),
    Row(G, None, "NOT_FOUND", "the resource does not exist"),
    Row(R, None, "ALREADY_EXISTS", "the resource already exists"),
    Row(R, None, "PERMISSION_DENIED", "the caller may not do this to this resource"),
    Row(X, None, "UNAUTHENTICATED", "the credentials are refused after a refresh"),
    Row(Q, None, "RESOURCE_EXHAUSTED", "a quota is used up (details say which)", USER, MINUTE),
    Row(R, None, "FAILED_PRECONDITION", "the system is not in the state this request needs"),
    Row(T, None, "ABORTED", "a concurrency conflict: retry (People wants one user's writes in sequence)"),
    Row(R, None, "OUT_OF_RANGE", "a value is out of range"),
    Row(R, None, "UNIMPLEMENTED", "the method is not implemented"),
    Row(T, None, "INTERNAL", "an internal error"),
    Row(T, None, "UNAVAILABLE", "the service is unavailable: retry with backoff"),
    Row(T, None, "DATA_LOSS", "unrecoverable data loss or corruption (reported as a server error)"),
    # --- HTTP statuses without a reason we know ----------------------------------------------
    Row(R, 400, None, "a bad request"),
    Row(X, 401, None, "the credentials are refused after a refresh"),
    Row(R, 403, None, "forbidden for this resource"),
    Row(G, 404, None, "not found"),
    Row(T, 408, None, "the request timed out"),
    Row(R, 409, None, "already exists"),
    Row(G, 410, None, "gone"),
    Row(C, 412, None, "precondition failed (stale etag)"),
    Row(R, 413, None, "the request is too large"),
    Row(Q, 429, None, "too many requests", USER, MINUTE),
    Row(T, 500, None, "a server error"),
    Row(T, 502, None, "bad gateway"),
    Row(T, 503, None, "service unavailable"),
    Row(T, 504, None, "gateway timeout"),
)

_BY_STATUS_REASON = {(r.status, r.reason): r for r in TABLE if r.status is not None and r.reason is not None}
_BY_REASON = {r.reason: r for r in TABLE if r.status is None and r.reason is not None}
_BY_STATUS = {r.status: r for r in TABLE if r.status is not None and r.reason is None}
# Which of several reasons in one body decides: the most specific handling first.
_PRIORITY = (OP, X, K, Q, S, C, G, T, R)
FALLBACK = Row(R, None, None, "an error reply no row describes: the request is refused")


def classify(status: int, reasons: Iterable[str], rpc_status: str | None = None) -> Row:
    """The row of one error reply: by its reasons (legacy and ErrorInfo), then its google.rpc
    status, then its HTTP status; several matching reasons: the most drastic handling wins."""
    rows = [_BY_STATUS_REASON.get((status, r)) or _BY_REASON.get(r) for r in reasons]
    found = [r for r in rows if r is not None]
    if found:
        return min(found, key=lambda r: _PRIORITY.index(r.handling))
    if rpc_status and rpc_status in _BY_REASON:
        return _BY_REASON[rpc_status]
    if status in _BY_STATUS:
        return _BY_STATUS[status]
    if 500 <= status < 600:
        return _BY_STATUS[500]
    return FALLBACK
