"""RFC 9457 problem details raised by the reference CRM and rendered as application/problem+json."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from crmsync.crm.validation import FieldError

TYPE_BASE = "urn:crm-sync:problem:"
TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    410: "Gone",
    412: "Precondition failed",
    413: "Content too large",
    415: "Unsupported media type",
    422: "Unprocessable content",
    428: "Precondition required",
    500: "Internal server error",
}


class Problem(Exception):
    """An error response: status, a problem type name, a detail for people, field errors."""

    def __init__(
        self,
        status: int,
        type_name: str,
        detail: str,
        *,
        errors: Iterable[FieldError] = (),
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.errors = list(errors)
        super().__init__(detail + "".join(f"; {e.path}: {e.message}" for e in self.errors))
        self.status = status
        self.type_name = type_name
        self.detail = detail
        self.extra = extra or {}
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        """The problem+json object."""
        out: dict[str, Any] = {
            "type": TYPE_BASE + self.type_name,
            "title": TITLES.get(self.status, "Error"),
            "status": self.status,
            "detail": self.detail,
        }
        if self.errors:
            out["errors"] = [{"path": e.path, "message": e.message} for e in self.errors]
        out.update(self.extra)
        return out


def validation(errors: list[FieldError], what: str = "record") -> Problem:
    """422 for a record that breaks the rules."""
    n = len(errors)
    return Problem(
        422, "validation", f"the {what} has {n} invalid field{'s' if n != 1 else ''}; see errors", errors=errors
    )


def bad_request(detail: str, path: str = "", message: str | None = None) -> Problem:
    """400 for a malformed request (parameters, JSON syntax, limits)."""
    return Problem(400, "bad-request", detail, errors=[FieldError(path, message or detail)] if path or message else [])


def not_found(kind: str, record_id: str) -> Problem:
    """404 for a record that does not exist, was deleted, or is not visible."""
    return Problem(
        404,
        "not-found",
        f"no {kind} record with id {record_id!r} (it may have been deleted, or is not visible to this user)",
    )


def conflict(current: int, given: int) -> Problem:
    """412 for a stale If-Match."""
    return Problem(
        412,
        "version-conflict",
        f"the record is at version {current}, not {given}; read it again and reapply your change",
        extra={"current_version": current},
        headers={"ETag": f'"{current}"'},
    )


def cursor_expired(detail: str) -> Problem:
    """410 for a cursor the feed can no longer serve: the client reads the feed again from the start."""
    return Problem(410, "cursor-expired", detail, errors=[FieldError("/cursor", "expired; omit it to start over")])
