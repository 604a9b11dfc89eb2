"""How contacts are wired for a run: Google People on one side, the CRM's
contacts on the other, matched by e-mail then phone on first sync."""

from __future__ import annotations

from typing import Any

from ..crm.contacts_side import CrmContacts
from ..google.client import build_service
from ..google.people import GooglePeople
from ..model.contact import match_keys
from ..model.cursor import Cursor
from ..model.field_mapping import MappedFields
from ..model.state import Connection
from ..model.typed_numbers import TypedNumbers
from ..ports import OpCounter
from .wiring import KindWiring, RunDeps


def wire_contacts(conn: Connection, credentials: Any, deps: RunDeps, cursor: Cursor, counter: OpCounter) -> KindWiring:
    """The contact sides of ``conn``; the scope group's resource name is kept in the cursor."""
    settings = conn.settings.contacts
    numbers = TypedNumbers(conn.settings.contact_options.default_region)  # each side writes phones as typed
    mapped = MappedFields(deps.field_mapping.contacts)
    service = build_service("people", credentials, deps.google.endpoint)
    google = GooglePeople(
        service,
        options=conn.settings.contact_options,
        counter=counter,
        group_name=settings.google_group,
        group_resource_name=cursor.place.group,
        numbers=numbers,
        mapped=mapped,
    )
    crm = CrmContacts(
        deps.crm,
        conn.id,
        conn.crm_user_id,
        settings,
        conn.settings.contact_options,
        counter,
        mapped=mapped,
        numbers=numbers,
    )

    def remember(after: Cursor) -> bool:
        group = google.group_resource_name
        if group and after.place.group != group:
            after.place = after.place.model_copy(update={"group": group})
            return True
        return False

    return KindWiring(crm, google, match_keys, remember)
