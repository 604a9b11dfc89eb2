"""The three kinds of record crmsync syncs, the two sides, and one literal table saying for each
kind what it is called, where it lives in the CRM and in Google, and the OAuth scope it needs
(how a run wires it: ``services/kinds.py``)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal


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


@dataclass(frozen=True)
class KindInfo:
    """What one kind is, outside the code that syncs it."""

    label: str  # what the user calls it (settings and connect pages)
    crm_kind: Literal["contacts", "activities", "tasks"]  # the CRM Sync API's kind (/{kind}/changes)
    crm_what: str  # the CRM records, in a sentence ("calendar activities")
    google_api: Literal["people", "calendar", "tasks"]  # the Google API it is written to (by default)
    scope: str  # the OAuth scope that API needs


KINDS: dict[Kind, KindInfo] = {
    Kind.CONTACTS: KindInfo(
        label="Contacts",
        crm_kind="contacts",
        crm_what="contacts",
        google_api="people",
        scope="https://www.googleapis.com/auth/contacts",
    ),
    Kind.EVENTS: KindInfo(
        label="Calendar",
        crm_kind="activities",
        crm_what="calendar activities",
        google_api="calendar",
        scope="https://www.googleapis.com/auth/calendar",
    ),
    Kind.TASKS: KindInfo(
        label="Tasks",
        crm_kind="tasks",  # CRM tasks stay CRM tasks even when written to Google Calendar
        crm_what="tasks",
        google_api="tasks",
        scope="https://www.googleapis.com/auth/tasks",
    ),
}
