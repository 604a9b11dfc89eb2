"""The field mapping the settings page shows names real fields: the CRM Sync API's (its models) and
Google's (the discovery documents of People, Calendar and Tasks)."""

from __future__ import annotations

import pytest

from crmsync.crm.models import ActivityData, ContactData, TaskData
from crmsync.model.kinds import Kind
from crmsync.web.forms import FIELD_MAP
from tests.support.discovery_schema import discovery

pytestmark = pytest.mark.unit
CRM = {Kind.CONTACTS: ContactData, Kind.EVENTS: ActivityData, Kind.TASKS: TaskData}
GOOGLE = {Kind.CONTACTS: ("people", "Person"), Kind.EVENTS: ("calendar", "Event"), Kind.TASKS: ("tasks", "Task")}


@pytest.mark.parametrize("kind", list(Kind))
def test_every_field_named_exists_on_its_side(kind: Kind) -> None:
    api, schema = GOOGLE[kind]
    google_fields = set(discovery(api)["schemas"][schema]["properties"])
    crm_fields = set(CRM[kind].model_fields)
    for _label, crm, google in FIELD_MAP[kind]:
        assert {f.strip() for f in crm.split(",")} <= crm_fields, crm
        assert {f.strip() for f in google.split(",")} <= google_fields, google
