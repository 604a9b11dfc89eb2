"""Error replies as Google sends them, for the fault and quota controls.

Calendar answers in the legacy shape (``errors[]`` with ``domain``/``reason``); People answers
google.rpc ``status`` with ``ErrorInfo`` details; Tasks carries both. Sources: Calendar "Handle
API errors" (developers.google.com/workspace/calendar/api/guides/errors); google.rpc.ErrorInfo
and google.api.ErrorReason; People's and Tasks' quota replies as clients capture them
("Quota exceeded for quota metric ... and limit ... of service ...").

``FAULT_REPLIES`` names every reply the fault controls can inject; ``fault_reply(name, api)``
builds it in the shape of the API that answers.
"""

from __future__ import annotations

from collections.abc import Callable

from .core import CALENDAR, ApiError, error_info

SERVICE = {
    "people": "people.googleapis.com",
    "tasks": "tasks.googleapis.com",
    "calendar": "calendar-json.googleapis.com",
}
_USAGE = "usageLimits"


def _service(api: str) -> str:
    return SERVICE.get(api, api)


def quota_reply(
    api: str, *, metric: str, limit: str, limit_name: str, per: str, value: int, headers: dict[str, str] | None = None
) -> ApiError:
    """People/Tasks: 429 RESOURCE_EXHAUSTED with the quota ErrorInfo (``per`` is "minute" or "day")."""
    service = _service(api)
    message = (
        f"Quota exceeded for quota metric '{metric}' and limit '{limit}' of service '{service}' "
        "for consumer 'project_number:0'."
    )
    detail = error_info(
        "RATE_LIMIT_EXCEEDED",
        service=service,
        quota_metric=f"{service}/{metric.lower().replace(' ', '_')}",
        quota_limit=limit_name,
        quota_limit_value=str(value),
        quota_location="global",
        consumer="projects/0",
    )
    reason = "dailyLimitExceeded" if per == "day" else "rateLimitExceeded"
    return ApiError(429, message, reason=reason, domain=_USAGE, details=[detail], headers=headers)


def _rate_limit_429(api: str) -> ApiError:
    if api == CALENDAR:
        return ApiError(429, "Rate Limit Exceeded", reason="rateLimitExceeded", domain=_USAGE)
    return quota_reply(
        api,
        metric="Read requests" if api == "people" else "Queries",
        limit="Read requests per minute per user" if api == "people" else "Queries per minute per user",
        limit_name="ReadRequestsPerMinutePerUser" if api == "people" else "defaultPerMinutePerUser",
        per="minute",
        value=90 if api == "people" else 600,
    )


def _daily_limit(api: str) -> ApiError:
    if api == CALENDAR:
        return ApiError(403, "Daily Limit Exceeded", reason="dailyLimitExceeded", domain=_USAGE)
    return quota_reply(
        api,
        metric="Queries",
        limit="Queries per day",
        limit_name="defaultPerDayPerProject",
        per="day",
        value=50000 if api == "tasks" else 1000000,
    )


def _api_disabled(api: str) -> ApiError:
    name = {"people": "People API", "tasks": "Google Tasks API"}.get(api, "Google Calendar API")
    message = (
        f"{name} has not been used in project 0 before or it is disabled. Enable it by visiting "
        f"https://console.developers.google.com/apis/api/{_service(api)}/overview?project=0 then retry."
    )
    info = error_info(
        "SERVICE_DISABLED",
        service=_service(api),
        consumer="projects/0",
        activationUrl=f"https://console.developers.google.com/apis/api/{_service(api)}/overview?project=0",
    )
    if api == CALENDAR:
        return ApiError(403, message, reason="accessNotConfigured", domain=_USAGE, details=[info])
    return ApiError(403, message, reason="accessNotConfigured", domain=_USAGE, details=[info])


def _server(code: int) -> Callable[[str], ApiError]:
    def build(api: str) -> ApiError:
        if api == CALENDAR:
            return ApiError(code, "Backend Error", reason="backendError")
        text = "Internal error encountered." if code == 500 else "The service is currently unavailable."
        return ApiError(code, text, reason="backendError")

    return build


FAULT_REPLIES: dict[str, Callable[[str], ApiError]] = {
    # transient
    "500": _server(500),
    "503": _server(503),
    # per-minute rate limits
    "429": _rate_limit_429,
    "rate_limit_403": lambda api: ApiError(403, "Rate Limit Exceeded", reason="rateLimitExceeded", domain=_USAGE),
    "user_rate_limit_403": lambda api: ApiError(
        403, "User Rate Limit Exceeded", reason="userRateLimitExceeded", domain=_USAGE
    ),
    # usage limits and daily quotas
    "quota_exceeded_403": lambda api: ApiError(
        403, "Calendar usage limits exceeded.", reason="quotaExceeded", domain=_USAGE
    ),
    "daily_limit": _daily_limit,
    # the operator's
    "api_disabled": _api_disabled,
    # the user's
    "insufficient_scopes": lambda api: ApiError(
        403,
        "Request had insufficient authentication scopes.",
        reason="insufficientPermissions",
        details=[error_info("ACCESS_TOKEN_SCOPE_INSUFFICIENT", service=_service(api))],
    ),
    # sync state
    "updated_min_too_long_ago": lambda api: ApiError(
        410,
        "The requested minimum modification time lies too far in the past.",
        reason="updatedMinTooLongAgo",
        domain="calendar",
        location="updatedMin",
    ),
    "full_sync_required": lambda api: ApiError(
        410,
        "Sync token is no longer valid, a full sync is required.",
        reason="fullSyncRequired",
        domain="calendar",
        location="syncToken",
    ),
    # batch
    "conflict_409": lambda api: ApiError(409, "Conflict", reason="conflict"),
    "not_found": lambda api: ApiError(404, "Not Found", reason="notFound"),
}


def fault_reply(name: str, api: str) -> ApiError:
    """The named reply in ``api``'s shape (``name`` from ``FAULT_REPLIES``)."""
    return FAULT_REPLIES[name](api)
