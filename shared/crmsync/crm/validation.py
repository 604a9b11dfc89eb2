"""Strict validation of CRM records, shared by the reference CRM and the in-memory fake.

Every error carries a JSON Pointer to the offending field (``/emails/0/value``)
and a message a person can act on. Field formats live in ``validation_formats``
and the activity time and recurrence checks in ``validation_activity``; this
module holds the per-kind record and patch entry points and re-exports the formats.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from pydantic import ValidationError

from . import custom_fields
from .models import DATA_MODELS, META_FIELDS, CompanyData, ContactData, RecordData, TaskData
from .validation_activity import check_activity
from .validation_formats import (
    FieldError,
    is_email,
    is_time_zone,
    parse_date,
    parse_instant,
    parse_local_datetime,
    pointer,
)

__all__ = [
    "MAX_TEXT",
    "FieldError",
    "is_email",
    "is_time_zone",
    "parse_date",
    "parse_instant",
    "parse_local_datetime",
    "pointer",
    "validate_patch",
    "validate_record",
]

_TAG = re.compile(r"^[^\s,\x00-\x1f](?:[^,\x00-\x1f]{0,62}[^\s,\x00-\x1f])?$")
_DOMAIN = re.compile(r"^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+$")
MAX_TEXT = 100_000
# Fields checked together: a patch touching one of them re-checks the whole group.
_GROUPS = (
    {"all_day", "start", "end", "time_zone", "start_date", "end_date", "recurrence", "exceptions"},
    {"status", "completed_at"},
)


def _pydantic_errors(err: ValidationError, model: type[RecordData]) -> list[FieldError]:
    out = []
    for e in err.errors():
        loc = [p for p in e["loc"] if not (isinstance(p, str) and p.startswith("function-"))]
        if e["type"] == "extra_forbidden":
            msg = "unknown field; check the spelling against the CRM Sync API record schema"
        elif e["type"] == "missing":
            msg = "this field is required"
        elif e["type"] == "literal_error":
            msg = f"must be one of: {e['ctx']['expected']}" if "ctx" in e else e["msg"]
        else:
            msg = e["msg"][0].lower() + e["msg"][1:]
        out.append(FieldError(pointer(loc), msg))
    return out


def _text_checks(data: dict[str, Any], loc: tuple[str | int, ...] = ()) -> list[FieldError]:
    errors = []
    for key, value in data.items():
        here = (*loc, key)
        if isinstance(value, str) and len(value) > MAX_TEXT:
            errors.append(FieldError(pointer(here), f"too long: {len(value)} characters, at most {MAX_TEXT}"))
        elif isinstance(value, dict):
            errors += _text_checks(value, here)
        elif isinstance(value, list):
            for i, item in enumerate(value):
                if isinstance(item, dict):
                    errors += _text_checks(item, (*here, i))
    return errors


def _check_common(rec: RecordData) -> list[FieldError]:
    errors = []
    seen = set()
    for i, tag in enumerate(rec.tags):
        if not _TAG.match(tag):
            errors.append(
                FieldError(
                    f"/tags/{i}",
                    "a tag is 1-64 characters, no commas or control characters, no leading or trailing spaces",
                )
            )
        elif tag in seen:
            errors.append(FieldError(f"/tags/{i}", f"duplicate tag {tag!r}"))
        seen.add(tag)
    if rec.owner_id is not None and not rec.owner_id:
        errors.append(FieldError("/owner_id", "must be a user id or null, not an empty string"))
    return errors


def _check_contact(rec: ContactData) -> list[FieldError]:
    errors = []
    if not any((rec.given_name, rec.family_name, rec.middle_name, rec.company_id, rec.emails, rec.phones)):
        errors.append(FieldError("/given_name", "a contact needs a name, an e-mail, a phone or a company"))
    for i, email in enumerate(rec.emails):
        if not is_email(email.value):
            errors.append(
                FieldError(
                    f"/emails/{i}/value",
                    f"{email.value!r} is not an e-mail address (expected name@domain.tld without spaces)",
                )
            )
    for i, phone in enumerate(rec.phones):
        if not phone.value.strip():
            errors.append(FieldError(f"/phones/{i}/value", "a phone number cannot be empty"))
    for i, url in enumerate(rec.urls):
        if not url.value.startswith(("http://", "https://")) or " " in url.value:
            errors.append(FieldError(f"/urls/{i}/value", "a URL starts with http:// or https:// and has no spaces"))
    for i, addr in enumerate(rec.addresses):
        if addr.country is not None and not re.fullmatch(r"[A-Z]{2}", addr.country):
            errors.append(
                FieldError(f"/addresses/{i}/country", "use the ISO 3166-1 alpha-2 country code, e.g. 'DE' or 'US'")
            )
    if rec.birthday is not None:
        errors += _check_birthday(rec.birthday.year, rec.birthday.month, rec.birthday.day)
    return errors


def _check_birthday(year: int | None, month: int, day: int) -> list[FieldError]:
    if year is not None and not 1800 <= year <= 2200:
        return [FieldError("/birthday/year", "year must be between 1800 and 2200, or left out when unknown")]
    if not 1 <= month <= 12:
        return [FieldError("/birthday/month", "month must be 1-12")]
    try:
        date(year if year is not None else 2000, month, day)  # 2000 is a leap year: 29 Feb is fine without year
    except ValueError:
        return [
            FieldError("/birthday/day", f"day {day} does not exist in month {month}" + (f" of {year}" if year else ""))
        ]
    return []


def _check_company(rec: CompanyData) -> list[FieldError]:
    errors = []
    if not rec.name.strip():
        errors.append(FieldError("/name", "a company needs a name"))
    if rec.domain is not None and not _DOMAIN.match(rec.domain):
        errors.append(FieldError("/domain", f"{rec.domain!r} is not a lower-case domain name like 'example.com'"))
    return errors


def _check_task(rec: TaskData) -> list[FieldError]:
    errors = []
    if not rec.title.strip():
        errors.append(FieldError("/title", "a task needs a title"))
    if rec.due is not None and parse_date(rec.due) is None and parse_instant(rec.due) is None:
        errors.append(
            FieldError(
                "/due",
                f"{rec.due!r} is neither a date YYYY-MM-DD nor a date-time with offset like 2026-11-25T16:30:00+01:00",
            )
        )
    if rec.completed_at is not None:
        if parse_instant(rec.completed_at) is None:
            errors.append(
                FieldError("/completed_at", f"{rec.completed_at!r} is not a date-time with offset (RFC 3339)")
            )
        elif rec.status != "completed":
            errors.append(
                FieldError(
                    "/completed_at", "only a completed task has completed_at; set status to 'completed' or drop it"
                )
            )
    return errors


_CHECKS: dict[str, Any] = {
    "contacts": _check_contact,
    "companies": _check_company,
    "activities": check_activity,
    "tasks": _check_task,
}


def validate_record(kind: str, data: Any) -> tuple[dict[str, Any] | None, list[FieldError]]:
    """Validate a full record body; returns the normalised record (defaults filled in) or the errors."""
    if not isinstance(data, dict):
        return None, [FieldError("", "the record must be a JSON object")]
    errors = [
        FieldError(pointer([k]), "read-only field set by the CRM; leave it out") for k in META_FIELDS if k in data
    ]
    body = {k: v for k, v in data.items() if k not in META_FIELDS}
    model = DATA_MODELS[kind]
    try:
        rec = model.model_validate(body)
    except ValidationError as err:
        return None, errors + _pydantic_errors(err, model)
    errors += _text_checks(body) + _check_common(rec) + _CHECKS[kind](rec)
    if errors:
        return None, errors
    clean = rec.model_dump(mode="json")
    if "custom_fields" in clean:  # every record of a kind with custom fields carries the object
        clean["custom_fields"] = custom_fields.merged(clean["custom_fields"], None)
    return clean, []


def validate_patch(kind: str, current: dict[str, Any], patch: Any) -> tuple[dict[str, Any] | None, list[FieldError]]:
    """Validate ``current`` with ``patch`` applied, reporting only errors in what the patch touches."""
    if not isinstance(patch, dict):
        return None, [FieldError("", "the patch must be a JSON object of the fields to change")]
    merged = {**{k: v for k, v in current.items() if k not in META_FIELDS}, **patch}
    if isinstance(patch.get("custom_fields"), dict) and isinstance(current.get("custom_fields") or {}, dict):
        merged["custom_fields"] = custom_fields.merged(current.get("custom_fields"), patch["custom_fields"])
    rec, errors = validate_record(kind, merged)
    touched = set(patch)
    for group in _GROUPS:
        if touched & group:
            touched |= group
    relevant = [e for e in errors if e.path.split("/")[1] in touched] if errors else []
    if errors and not relevant:
        # Only pre-existing bad data the patch does not touch: accept, keep it as it was.
        return merged, []
    return rec, relevant
