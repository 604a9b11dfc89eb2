"""The three kinds of record crmsync syncs, and the two sides."""

from __future__ import annotations

from enum import StrEnum


class Kind(StrEnum):
    CONTACTS = "contacts"
    EVENTS = "events"
    TASKS = "tasks"


class Side(StrEnum):
    CRM = "crm"
    GOOGLE = "google"

    @property
    def other(self) -> Side:
        return Side.GOOGLE if self is Side.CRM else Side.CRM
