"""The one mapping from CRM Sync API responses (status + problem+json) to the connector's typed errors."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from .port import (
    CrmAuthError,
    CrmConflict,
    CrmCursorExpired,
    CrmError,
    CrmIdempotencyReuse,
    CrmNotFound,
    CrmTransient,
    CrmValidation,
)
from .validation import FieldError

_VALIDATION = {400, 409, 413, 415, 422, 428}
# The two problem types crmsync relies on, matched by their exact URI (docs/crm-sync-api.md,
# "Problem types"): a look-alike type is read by its status like any other.
KEY_REUSED = "urn:crm-sync:problem:idempotency-key-reused"
CURSOR_EXPIRED = "urn:crm-sync:problem:cursor-expired"


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date); None if absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def error_from_problem(status: int, problem: Mapping[str, Any] | None, retry_after: float | None = None) -> CrmError:
    """The typed error for an HTTP status and its problem details."""
    problem = dict(problem or {})
    detail = str(problem.get("detail") or problem.get("title") or f"CRM answered HTTP {status}")
    message = f"CRM {status}: {detail}"
    errors = [
        FieldError(str(e.get("path", "")), str(e.get("message", "")))
        for e in problem.get("errors") or []
        if isinstance(e, Mapping)
    ]
    kind = str(problem.get("type", ""))
    if kind == CURSOR_EXPIRED:
        return CrmCursorExpired(message, errors=errors, status=status, problem=problem)
    if status == 400 and any(e.path == "/cursor" for e in errors):
        # A cursor refused as malformed or foreign is refused forever: starting over is the way out.
        return CrmCursorExpired(message, errors=errors, status=status, problem=problem)
    if status in (401, 403):
        return CrmAuthError(message, status=status, problem=problem)
    if status in (404, 410):
        return CrmNotFound(message, status=status, problem=problem)
    if status == 412:
        current = problem.get("current_version")
        return CrmConflict(
            message, current_version=int(current) if isinstance(current, int) else -1, status=status, problem=problem
        )
    if status == 422 and kind == KEY_REUSED:
        return CrmIdempotencyReuse(message, errors=errors, status=status, problem=problem)
    if status in _VALIDATION:
        return CrmValidation(message, errors=errors, status=status, problem=problem)
    if status == 429 or status >= 500:
        return CrmTransient(message, retry_after=retry_after, status=status, problem=problem)
    return CrmError(message, status=status, problem=problem)
