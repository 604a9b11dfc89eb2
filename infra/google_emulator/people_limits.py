"""Limits of one People account: contacts per account and the size of one contact.

- 25,000 contacts per account: public reports, not an official figure; configurable as
  ``state.extras["people.max_contacts"]``. Over it: 400 FAILED_PRECONDITION.
- Per-contact size: Google publishes no figure for the People API and its error text for an
  oversized contact is not published either. We assume **128 KiB** (``MAX_CONTACT_BYTES``),
  measured as the UTF-8 JSON of the contact's values without Google's metadata and memberships;
  configurable as ``state.extras["people.max_contact_bytes"]``. Over it a create or an update (in a
  batch too, where it fails the whole request, as every invalid contact does) is refused with 400
  INVALID_ARGUMENT, "the contact is too large" in our own wording.
"""

from __future__ import annotations

import json
from typing import Any

from .core import ApiError, EmulatorState

Fields = dict[str, list[dict[str, Any]]]

MAX_CONTACTS = 25_000
MAX_CONTACT_BYTES = 128 * 1024


def check_room(state: EmulatorState, live: int, adding: int) -> None:
    """400 when ``adding`` contacts would pass the account's contact limit."""
    limit = int(state.extras.get("people.max_contacts", MAX_CONTACTS))
    if live + adding > limit:
        raise ApiError(
            400,
            f"Contact limit reached: this account holds {live} contacts and cannot hold more than {limit}.",
            status="FAILED_PRECONDITION",
        )


def contact_bytes(fields: Fields) -> int:
    """The size a contact counts against the per-contact limit: its values, not Google's metadata."""
    data = {
        name: [{k: v for k, v in item.items() if k != "metadata"} for item in items]
        for name, items in fields.items()
        if name != "memberships"
    }
    return len(json.dumps(data, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode())


def check_size(state: EmulatorState, fields: Fields, where: str = "person") -> None:
    """400 INVALID_ARGUMENT when a contact holding ``fields`` would pass the per-contact size."""
    limit = int(state.extras.get("people.max_contact_bytes", MAX_CONTACT_BYTES))
    size = contact_bytes(fields)
    if size > limit:
        raise ApiError(
            400,
            f"Invalid {where}: the contact is too large ({size} bytes of contact data; "
            f"a contact can hold at most {limit} bytes).",
            status="INVALID_ARGUMENT",
        )
