"""The hand-made tricky records (``data/tricky_records.json``) mapped to the CRM Sync API's shapes."""

from __future__ import annotations

from typing import Any


def tricky_contact(raw: dict[str, Any], owner: str) -> dict[str, Any]:
    """A tricky contact in the contract's shape."""
    rec: dict[str, Any] = {
        "given_name": raw.get("given"),
        "family_name": raw.get("family"),
        "owner_id": owner,
        "tags": ["crm", "tricky", f"tricky-{raw['key']}"],
    }
    for field in ("emails", "phones", "title", "birthday", "notes"):
        if field in raw:
            rec[field] = raw[field]
    if "addresses" in raw:
        rec["addresses"] = [
            {("postal_code" if k == "postal" else k): v for k, v in a.items()} for a in raw["addresses"]
        ]
    if "notes_length" in raw:
        line = "Long notes for a verbose person. "
        rec["notes"] = (line * (raw["notes_length"] // len(line) + 1))[: raw["notes_length"]]
        rec["middle_name"] = "Maximilian-Alexander-Konstantin-Friedrich-Wilhelm-Johannes-Bartholomäus"
    return rec


def contact_defaults(rec: dict[str, Any]) -> dict[str, Any]:
    """Every contact field, for a record stored without validation (and so without defaults)."""
    base: dict[str, Any] = {
        "name_prefix": None,
        "middle_name": None,
        "name_suffix": None,
        "emails": [],
        "phones": [],
        "addresses": [],
        "urls": [],
        "company_id": None,
        "title": None,
        "department": None,
        "birthday": None,
        "notes": None,
    }
    return {**base, **rec}


def tricky_activities(raw: dict[str, Any], owner: str, organizer: str) -> list[dict[str, Any]]:
    """A tricky activity in the contract's shape (a split series gives two)."""
    rec: dict[str, Any] = {
        "subject": raw["subject"],
        "owner_id": owner,
        "organizer_email": organizer,
        "tags": ["crm", "tricky", f"tricky-{raw['key']}"],
    }
    if raw.get("all_day"):
        rec.update(all_day=True, start_date=raw["start_date"], end_date=raw["end_date_inclusive"])
    else:
        rec.update(start=raw["start"], end=raw["end"], time_zone=raw["tz"])
    if raw.get("rrule"):
        rec["recurrence"] = {"rrule": raw["rrule"], "exdates": raw.get("exdates", [])}
    if raw.get("moved"):
        rec["exceptions"] = [
            {"original_start": m["original"], "start": m["start"], "end": m["end"]} for m in raw["moved"]
        ]
    if raw.get("private"):
        rec["private"] = True
    if raw.get("attendees"):
        rec["attendees"] = [{"email": e} for e in raw["attendees"]]
    out = [rec]
    if raw.get("followed_by"):
        nxt = raw["followed_by"]
        out.append({**rec, "start": nxt["start"], "end": nxt["end"], "recurrence": {"rrule": nxt["rrule"]}})
    return out
