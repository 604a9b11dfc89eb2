"""People ``Person`` JSON <-> crmsync's raw/canonical contact, and the field masks between them."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar

from ..model.contact import canonical_contact
from ..model.link import Canon
from .people_custom import CUSTOM_PERSON_FIELDS
from .people_models import (
    Address,
    Biography,
    Birthday,
    ClientData,
    Date,
    GroupRef,
    Membership,
    Name,
    Organization,
    Person,
    TypedValue,
)

CRM_ID_KEY = "crmsync.crm_id"
MY_CONTACTS = "contactGroups/myContacts"
# Canonical field -> the Person field that holds it.
PERSON_FIELD_OF = {
    "given": "names",
    "middle": "names",
    "family": "names",
    "prefix": "names",
    "suffix": "names",
    "company": "organizations",
    "title": "organizations",
    "department": "organizations",
    "notes": "biographies",
    "birthday": "birthdays",
    "emails": "emailAddresses",
    "phones": "phoneNumbers",
    "urls": "urls",
    "addresses": "addresses",
    "groups": "memberships",
}
CONTENT_FIELDS = sorted({f for k, f in PERSON_FIELD_OF.items() if k != "groups"})
# What every read asks for: the mapped fields plus what the sync itself needs.
READ_MASK = ",".join(sorted({*CONTENT_FIELDS, *CUSTOM_PERSON_FIELDS, "metadata", "clientData", "memberships"}))
# Canonical types Google spells otherwise (the canonical vocabulary folds homeFax/workFax/otherFax into "fax").
_GOOGLE_TYPES = {"fax": "workFax"}
_COUNTRY_CODE = re.compile(r"^[A-Z]{2}$")

M = TypeVar("M", Name, TypedValue, Address, Organization, Biography, Birthday)


def _first(items: Sequence[M] | None) -> M | None:
    """The primary item (or the first) of a field Google may hold several of."""
    if not items:
        return None
    return next((i for i in items if i.metadata and i.metadata.primary), items[0])


def group_ids(person: Person) -> list[str]:
    """Resource names of the groups the person belongs to."""
    out: list[str] = []
    for m in person.memberships or []:
        rn = m.contact_group_membership.resource_name if m.contact_group_membership else None
        if rn:
            out.append(rn)
    return out


def crm_id_of(person: Person) -> str | None:
    """The CRM id we stored on a contact we created (``clientData`` key ``crmsync.crm_id``)."""
    return next((c.value for c in person.client_data or [] if c.key == CRM_ID_KEY and c.value), None)


def client_data_with(items: Sequence[Mapping[str, Any]], crm_id: str) -> list[dict[str, Any]]:
    """A contact's ``clientData`` entries (``items``, as Google holds them) with ours set to ``crm_id``;
    entries of other keys stay."""
    kept = [dict(i) for i in items if i.get("key") != CRM_ID_KEY]
    return [*kept, ClientData(key=CRM_ID_KEY, value=crm_id).wire()]


def updated_at(person: Person) -> datetime | None:
    """When the CONTACT source of the person last changed."""
    sources = person.metadata.sources if person.metadata else None
    return next((s.update_time for s in sources or [] if s.type == "CONTACT" and s.update_time), None)


def is_deleted(person: Person) -> bool:
    """True for a tombstone in a sync listing."""
    return bool(person.metadata and person.metadata.deleted)


def _typed(items: list[TypedValue] | None) -> list[dict[str, Any]]:
    return [{"type": i.type, "value": i.value} for i in items or [] if i.value]


def person_to_raw(person: Person, group_names: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The raw contact dict of a Person; ``group_names`` (group resource name -> name) selects the
    groups mirrored as tags (None: no groups)."""
    name = _first(person.names) or Name()
    org = _first(person.organizations) or Organization()
    bio = _first(person.biographies)
    day = _first(person.birthdays)
    date = day.date if day and day.date else None
    return {
        "given": name.given_name,
        "middle": name.middle_name,
        "family": name.family_name,
        "prefix": name.honorific_prefix,
        "suffix": name.honorific_suffix,
        "company": org.name,
        "title": org.title,
        "department": org.department,
        "notes": bio.value if bio else None,
        "birthday": {"year": date.year, "month": date.month, "day": date.day} if date else None,
        "emails": _typed(person.email_addresses),
        "phones": _typed(person.phone_numbers),
        "urls": _typed(person.urls),
        "addresses": [
            {
                "type": a.type,
                "street": a.street_address,
                "city": a.city,
                "region": a.region,
                "postal_code": a.postal_code,
                "country": a.country_code or a.country,
            }
            for a in person.addresses or []
        ],
        "groups": [group_names[g] for g in group_ids(person) if g in group_names] if group_names else [],
    }


def person_canon(person: Person, *, default_region: str, group_names: Mapping[str, str] | None = None) -> Canon:
    """The canonical contact of a Person (raises ``normalise.InvalidValue`` for values that cannot sync)."""
    return canonical_contact(person_to_raw(person, group_names), default_region=default_region)


def person_fields(canon_fields: Iterable[str], *, groups: bool) -> list[str]:
    """The Person fields (an update mask) covering the given canonical fields; ``groups`` says whether
    group changes are written as memberships."""
    out: set[str] = set()
    for f in canon_fields:
        if f not in PERSON_FIELD_OF:
            raise ValueError(f"unknown contact field {f!r}; expected one of {', '.join(sorted(PERSON_FIELD_OF))}")
        if f != "groups" or groups:
            out.add(PERSON_FIELD_OF[f])
    return sorted(out)


def _google_type(label: Any) -> str | None:
    return _GOOGLE_TYPES.get(str(label), str(label)) if label else None


def _typed_out(items: list[dict[str, Any]] | None, text: Callable[[str], str] = str) -> list[TypedValue]:
    return [TypedValue(value=text(str(i["value"])), type=_google_type(i.get("type"))) for i in items or []]


def _address_out(item: Mapping[str, Any]) -> Address:
    country = item.get("country")
    code = country if country and _COUNTRY_CODE.match(str(country)) else None
    return Address(
        type=_google_type(item.get("type")),
        street_address=item.get("street"),
        city=item.get("city"),
        region=item.get("region"),
        postal_code=item.get("postal_code"),
        country_code=code,
        country=None if code else country,
    )


def _field_value(canon: Canon, field: str, memberships: Sequence[str], phone: Callable[[str], str] = str) -> list[Any]:
    """The Person items of one field for a canonical contact (at most one for singleton fields)."""
    if field == "names":
        name = Name(
            given_name=canon.get("given"),
            middle_name=canon.get("middle"),
            family_name=canon.get("family"),
            honorific_prefix=canon.get("prefix"),
            honorific_suffix=canon.get("suffix"),
        )
        return [name] if name.wire() else []
    if field == "organizations":
        org = Organization(name=canon.get("company"), title=canon.get("title"), department=canon.get("department"))
        return [org] if org.wire() else []
    if field == "biographies":
        notes = canon.get("notes")
        return [Biography(value=notes, content_type="TEXT_PLAIN")] if notes else []
    if field == "birthdays":
        b = canon.get("birthday")
        return [Birthday(date=Date(year=b.get("year"), month=b["month"], day=b["day"]))] if b else []
    if field == "emailAddresses":
        return _typed_out(canon.get("emails"))
    if field == "phoneNumbers":
        return _typed_out(canon.get("phones"), phone)
    if field == "urls":
        return _typed_out(canon.get("urls"))
    if field == "addresses":
        return [_address_out(a) for a in canon.get("addresses") or []]
    if field == "memberships":
        return [Membership(contact_group_membership=GroupRef(contact_group_resource_name=g)) for g in memberships]
    raise ValueError(f"Person field {field!r} is not mapped")


def person_body(
    canon: Canon,
    fields: Iterable[str],
    *,
    memberships: Sequence[str] = (),
    etag: str | None = None,
    crm_id: str | None = None,
    phone: Callable[[str], str] = str,
) -> dict[str, Any]:
    """The Person JSON carrying ``fields`` of a canonical contact (an absent value is sent as an empty
    list, which clears it), plus the etag for updates and the CRM id for creates; ``phone`` gives
    the text written for a canonical phone value (the number as typed on the other side)."""
    body: dict[str, Any] = {}
    if etag is not None:
        body["etag"] = etag
    for field in fields:
        body[field] = [item.wire() for item in _field_value(canon, field, memberships, phone)]
    if crm_id is not None:
        body["clientData"] = [ClientData(key=CRM_ID_KEY, value=crm_id).wire()]
    return body
