"""The slice of the People API ``Person`` resource crmsync reads and writes
(pydantic, camelCase aliases; unknown keys ignored)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


class GoogleModel(BaseModel):
    """Base of the People models: camelCase on the wire, snake_case in code."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")

    def wire(self) -> dict[str, Any]:
        """The JSON object Google takes (camelCase keys, unset values left out)."""
        return self.model_dump(by_alias=True, exclude_none=True, mode="json")


class Source(GoogleModel):
    type: str | None = None
    id: str | None = None
    etag: str | None = None
    update_time: datetime | None = None


class FieldMetadata(GoogleModel):
    primary: bool | None = None
    source: Source | None = None


class Name(GoogleModel):
    metadata: FieldMetadata | None = None
    given_name: str | None = None
    middle_name: str | None = None
    family_name: str | None = None
    honorific_prefix: str | None = None
    honorific_suffix: str | None = None


class TypedValue(GoogleModel):
    """An e-mail address, phone number or URL."""

    metadata: FieldMetadata | None = None
    value: str | None = None
    type: str | None = None


class Address(GoogleModel):
    metadata: FieldMetadata | None = None
    type: str | None = None
    street_address: str | None = None
    city: str | None = None
    region: str | None = None
    postal_code: str | None = None
    country: str | None = None
    country_code: str | None = None


class Organization(GoogleModel):
    metadata: FieldMetadata | None = None
    name: str | None = None
    title: str | None = None
    department: str | None = None


class Biography(GoogleModel):
    metadata: FieldMetadata | None = None
    value: str | None = None
    content_type: str | None = None


class Date(GoogleModel):
    year: int | None = None
    month: int | None = None
    day: int | None = None


class Birthday(GoogleModel):
    metadata: FieldMetadata | None = None
    date: Date | None = None


class GroupRef(GoogleModel):
    contact_group_resource_name: str | None = None
    contact_group_id: str | None = None

    @property
    def resource_name(self) -> str | None:
        """The group's resource name, from either key."""
        if self.contact_group_resource_name:
            return self.contact_group_resource_name
        return "contactGroups/" + self.contact_group_id if self.contact_group_id else None


class Membership(GoogleModel):
    contact_group_membership: GroupRef | None = None


class ClientData(GoogleModel):
    key: str | None = None
    value: str | None = None


class PersonMetadata(GoogleModel):
    sources: list[Source] | None = None
    deleted: bool | None = None


class Person(GoogleModel):
    resource_name: str | None = None
    etag: str | None = None
    metadata: PersonMetadata | None = None
    names: list[Name] | None = None
    email_addresses: list[TypedValue] | None = None
    phone_numbers: list[TypedValue] | None = None
    addresses: list[Address] | None = None
    organizations: list[Organization] | None = None
    biographies: list[Biography] | None = None
    birthdays: list[Birthday] | None = None
    urls: list[TypedValue] | None = None
    memberships: list[Membership] | None = None
    client_data: list[ClientData] | None = None


class ContactGroup(GoogleModel):
    resource_name: str
    name: str | None = None
    group_type: str | None = None
    metadata: PersonMetadata | None = None
