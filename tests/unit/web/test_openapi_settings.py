"""The OpenAPI document describes the settings the API and the page save: every model field, and no other."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest
import yaml
from pydantic import BaseModel

from crmsync.model.settings import SyncSettings
from crmsync.web.api import OPENAPI

pytestmark = pytest.mark.unit
DOC = yaml.safe_load(OPENAPI.read_text())


def schema_of(name: str) -> dict[str, Any]:
    """A component schema with its refs resolvable by jsonschema."""
    return {**DOC["components"]["schemas"][name], "components": DOC["components"]}


def resolved(node: dict[str, Any]) -> dict[str, Any]:
    ref = node.get("$ref")
    return DOC["components"]["schemas"][ref.rsplit("/", 1)[1]] if ref else node


def assert_documents(model: type[BaseModel], schema: dict[str, Any], path: str) -> None:
    props = schema["properties"]
    assert set(props) == set(model.model_fields), path
    for name, field in model.model_fields.items():
        if isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel):
            assert_documents(field.annotation, resolved(props[name]), f"{path}.{name}")


def test_the_settings_schema_documents_every_model_field() -> None:
    assert_documents(SyncSettings, DOC["components"]["schemas"]["SyncSettings"], "settings")


def test_settings_the_page_can_save_are_valid_for_the_schema() -> None:
    settings = SyncSettings.model_validate(
        {
            "event_options": {
                "calendar": "dedicated",
                "calendar_name": "Sales",
                "read_calendars": ["team@group.calendar.google.com"],
                "google_window": {"back_days": 0, "ahead_days": 3650},
                "private_activities": "busy",
                "send_updates": "externalOnly",
            },
            "task_options": {"target": "calendar", "default_list": "L1", "lists": ["L2"]},
        }
    )
    jsonschema.validate(settings.model_dump(mode="json"), schema_of("SyncSettings"))
    jsonschema.validate(SyncSettings().model_dump(mode="json"), schema_of("SyncSettings"))


def test_the_schema_refuses_what_the_model_refuses() -> None:
    bad = SyncSettings().model_dump(mode="json")
    bad["event_options"]["crm_window"]["ahead_days"] = 0
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema_of("SyncSettings"))
