"""Valid records of each kind, distinct per call, and the checks every record reply gets."""

from __future__ import annotations

import itertools
from typing import Any

from ...crm.replies import record_errors
from ..client import Exchange
from ..runner import Context, Failure

_n = itertools.count(1)


def sample(kind: str, ctx: Context) -> dict[str, Any]:
    """A valid record of ``kind`` (names carry the run tag so a person can find them)."""
    n = next(_n)
    if kind == "contacts":
        return {
            "given_name": "Conformance",
            "family_name": f"Kit {n}",
            "emails": [{"type": "work", "value": f"{ctx.tag}-{n}@example.com"}],
            "phones": [{"type": "mobile", "value": "+49 30 1234567"}],
        }
    if kind == "companies":
        return {"name": f"Conformance {ctx.tag} {n}"}
    if kind == "activities":
        return {
            "subject": f"Conformance {ctx.tag} {n}",
            "start": "2026-03-02T10:00:00",
            "end": "2026-03-02T11:00:00",
            "time_zone": "Europe/Berlin",
        }
    return {"title": f"Conformance {ctx.tag} {n}", "due": "2026-03-05"}


def patch_for(kind: str) -> dict[str, Any]:
    """A valid partial update of ``kind``."""
    return {
        "contacts": {"title": "Tester"},
        "companies": {"domain": "example.com"},
        "activities": {"location": "Room 1"},
        "tasks": {"notes": "checked"},
    }[kind]


def check_record(kind: str, data: Any, ex: Exchange, where: str = "") -> None:
    """The record in a reply has every field of its kind, no other, each of its exact JSON type."""
    errors = record_errors(kind, data, where)
    if errors:
        shown = "; ".join(f"{e.path or '/'}: {e.message}" for e in errors[:6])
        raise Failure(f"the {kind[:-1]} in the reply does not match the contract: {shown}", ex)
