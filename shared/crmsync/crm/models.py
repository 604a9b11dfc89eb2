"""Wire models of the CRM Sync API (v1): the records as the contract defines them.

``*Data`` models are the writable fields (unknown fields rejected); the record
models add the server-owned meta fields. Models are structural only: semantic
checks (e-mail syntax, time zones, recurrence rules) live in ``validation``, so a
record the CRM already holds with a bad value (tricky record c15) still parses.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ..model.custom import CrmField, CustomValue

Kind = Literal["contacts", "companies", "activities", "tasks"]
KINDS: tuple[Kind, ...] = ("contacts", "companies", "activities", "tasks")
META_FIELDS = ("id", "version", "created_at", "updated_at")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class Email(_Strict):
    type: Literal["work", "home", "other"] = "other"
    value: str


class Phone(_Strict):
    type: Literal["work", "home", "mobile", "fax", "other"] = "other"
    value: str


class Address(_Strict):
    type: Literal["work", "home", "other"] = "other"
    street: str | None = None
    city: str | None = None
    region: str | None = None
    postal_code: str | None = None
    country: str | None = None


class Url(_Strict):
    type: Literal["work", "home", "profile", "other"] = "other"
    value: str


class Birthday(_Strict):
    year: int | None = None
    month: int
    day: int


class RecordData(_Strict):
    """Fields every record has."""

    owner_id: str | None = None
    tags: list[str] = Field(default_factory=list)


class CustomData(RecordData):
    """Records of the kinds that may carry the CRM's own fields (declared at ``GET /{kind}/fields``):
    their values by field name. Optional in the contract: a CRM that declares no custom fields
    leaves it out (None); one that does sends it on every record (``{}`` when none is set). A
    patch changes only the names it carries (``null`` clears one)."""

    custom_fields: dict[str, CustomValue] | None = None


class ContactData(CustomData):
    name_prefix: str | None = None
    given_name: str | None = None
    middle_name: str | None = None
    family_name: str | None = None
    name_suffix: str | None = None
    emails: list[Email] = Field(default_factory=list)
    phones: list[Phone] = Field(default_factory=list)
    addresses: list[Address] = Field(default_factory=list)
    urls: list[Url] = Field(default_factory=list)
    company_id: str | None = None
    title: str | None = None
    department: str | None = None
    birthday: Birthday | None = None
    notes: str | None = None


class CompanyData(RecordData):
    name: str
    domain: str | None = None


class Recurrence(_Strict):
    rrule: str
    exdates: list[str] = Field(default_factory=list)
    rdates: list[str] = Field(default_factory=list)


class OccurrenceException(_Strict):
    original_start: str
    cancelled: bool = False
    start: str | None = None
    end: str | None = None
    subject: str | None = None
    description: str | None = None
    location: str | None = None


class Attendee(_Strict):
    email: str
    name: str | None = None
    response: Literal["needs_action", "accepted", "declined", "tentative"] = "needs_action"
    contact_id: str | None = None
    user_id: str | None = None


class Reminder(_Strict):
    method: Literal["popup", "email"] = "popup"
    minutes_before: int


class ActivityData(CustomData):
    subject: str
    description: str | None = None
    location: str | None = None
    all_day: bool = False
    start: str | None = None
    end: str | None = None
    time_zone: str | None = None
    start_date: str | None = None
    end_date: str | None = None
    recurrence: Recurrence | None = None
    exceptions: list[OccurrenceException] = Field(default_factory=list)
    attendees: list[Attendee] = Field(default_factory=list)
    organizer_email: str | None = None
    private: bool = False
    show_in_calendar: bool = True
    reminders: list[Reminder] = Field(default_factory=list)


class TaskData(CustomData):
    title: str
    notes: str | None = None
    due: str | None = None
    status: Literal["open", "completed"] = "open"
    completed_at: str | None = None


class _Meta(BaseModel):
    # Replies are read strictly (crm/replies.py): every field, no unknown ones, exact JSON types.
    model_config = ConfigDict(extra="forbid", strict=True)
    id: str
    version: int
    created_at: str
    updated_at: str


class Contact(ContactData, _Meta):
    model_config = ConfigDict(extra="forbid", strict=True)


class Company(CompanyData, _Meta):
    model_config = ConfigDict(extra="forbid", strict=True)


class Activity(ActivityData, _Meta):
    model_config = ConfigDict(extra="forbid", strict=True)


class Task(TaskData, _Meta):
    model_config = ConfigDict(extra="forbid", strict=True)


Record = Contact | Company | Activity | Task

DATA_MODELS: dict[str, type[RecordData]] = {
    "contacts": ContactData,
    "companies": CompanyData,
    "activities": ActivityData,
    "tasks": TaskData,
}
CUSTOM_KINDS: tuple[Kind, ...] = ("contacts", "activities", "tasks")  # kinds that may have custom fields
OPTIONAL_IN_REPLIES = frozenset({"custom_fields"})  # absent from a reply: the CRM has none


class FieldList(BaseModel):
    """The reply of ``GET /{kind}/fields``."""

    model_config = ConfigDict(extra="forbid", strict=True)
    items: list[CrmField]


RECORD_MODELS: dict[str, type[Contact] | type[Company] | type[Activity] | type[Task]] = {
    "contacts": Contact,
    "companies": Company,
    "activities": Activity,
    "tasks": Task,
}


class User(BaseModel):
    """A CRM user: ``admin`` sees every record, ``user`` sees what the visibility rules allow."""

    model_config = ConfigDict(extra="forbid")
    id: str
    email: str
    name: str
    role: Literal["admin", "user"] = "user"
    active: bool = True


SYNC_KINDS: dict[str, str] = {
    "contacts": "contacts",
    "activities": "events",
    "tasks": "tasks",
}  # CRM kind -> crmsync kind


class Capabilities(BaseModel):
    """What a CRM declares at ``GET /capabilities`` (optional: without it, everything v1 offers).

    Unknown members are ignored: this is where 1.x adds optional things a server may declare."""

    model_config = ConfigDict(extra="ignore", strict=True)
    api_version: str = "1.0"
    kinds: list[Kind] = Field(default_factory=lambda: list(KINDS))
    recurrence_exceptions: bool = True
    custom_fields: bool = False  # the CRM declares its own fields at GET /{kind}/fields
    idempotency_key_retention_days: int | None = Field(default=None, ge=1)
    notifications: bool = False  # serves POST /notifications (crmsync tells it when a user is needed)

    def offers(self, kind: str) -> bool:
        """Whether the CRM has records of ``kind`` (a CRM Sync API kind: contacts, companies, ...)."""
        return kind in self.kinds
