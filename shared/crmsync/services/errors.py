"""Errors the services raise; each carries the HTTP status and a message a person can act on."""

from __future__ import annotations

from dataclasses import dataclass

from crmsync.services.run_words import N_


class ServiceError(Exception):
    """Base: ``status`` is the HTTP status, ``title`` a short name, the message says what to do next."""

    status = 400
    title = N_("Bad request")

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotAllowed(ServiceError):
    """The caller may not do this (admin rule, link refused)."""

    status = 403
    title = N_("Not allowed")


class NotConnected(ServiceError):
    """There is no connection for this CRM user."""

    status = 404
    title = N_("Not connected")


class WrongState(ServiceError):
    """The connection's state does not allow this now (paused, needs reconnecting, disconnected)."""

    status = 409
    title = N_("Not possible right now")


class Unavailable(ServiceError):
    """A dependency (Google, the CRM, the store) failed transiently: try again."""

    status = 503
    title = N_("Temporarily unavailable")


@dataclass(frozen=True)
class FieldProblem:
    """One invalid input: a dotted field path and what is wrong with it."""

    field: str
    message: str


class InvalidInput(ServiceError):
    """Input failed validation; ``problems`` name each field."""

    status = 422
    title = N_("Invalid settings")

    def __init__(self, problems: list[FieldProblem], message: str | None = None) -> None:
        super().__init__(message or "; ".join(f"{p.field}: {p.message}" for p in problems))
        self.problems = problems
