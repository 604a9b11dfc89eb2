"""The admin maps the CRM's custom fields (admin API, checked against the CRM's declarations) and
users see the mapping, read-only, on their settings page."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from werkzeug.test import Client

from crmsync.crm.custom_fields import REFERENCE_FIELDS
from crmsync.crm.fake import FakeCrm
from crmsync.model.kinds import Kind, Side
from crmsync.security.sessions import issue_session
from crmsync.services.admin_config import load_admin_config
from crmsync.services.scopes import connection_id_for
from crmsync.web.app import WebApp
from tests.unit.services.appfakes import ADMIN_KEY, make_app, seed_connection

pytestmark = pytest.mark.unit
ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}
GOOD = {
    "contacts": [
        {"crm_field": "customer_tier", "target": "userDefined", "key": "Customer tier", "fill_from": "google"},
        {"crm_field": "account_number", "target": "externalIds", "key": "account", "direction": "crm_to_google"},
        {"crm_field": "renewal_date", "target": "events", "key": "renewal"},
    ],
    "events": [{"crm_field": "deal_stage", "target": "extendedProperties.private", "key": "dealStage"}],
    "tasks": [{"crm_field": "priority", "target": "notes_line", "key": "Priority"}],
}


@pytest.fixture
def setup() -> Any:
    app, _google, clock = make_app()
    assert isinstance(app.crm, FakeCrm)
    app.crm.declare_fields(REFERENCE_FIELDS)
    seed_connection(app, "u1", kinds=tuple(Kind))
    return app, Client(WebApp(app)), clock


def test_the_admin_reads_the_crm_fields_and_stores_a_mapping(setup: Any) -> None:
    app, client, _ = setup
    view = client.get("/admin/field-mapping", headers=ADMIN).json
    assert view["mapping"] == {"contacts": [], "events": [], "tasks": []}
    assert {f["name"] for f in view["crm_fields"]["contacts"]} >= {"customer_tier", "account_number"}
    stored = client.put("/admin/field-mapping", headers=ADMIN, json=GOOD)
    assert stored.status_code == 200, stored.json
    entry = stored.json["mapping"]["contacts"][0]
    assert entry["field"]["type"] == "picklist" and entry["field"]["options"] == ["Bronze", "Silver", "Gold"]
    mapping = load_admin_config(app.store).field_mapping
    assert [m.field.name for m in mapping.contacts] == ["customer_tier", "account_number", "renewal_date"]
    assert [m.fill_from for m in mapping.contacts] == [Side.GOOGLE, None, None]
    # The whole admin config round-trips with the mapping in it.
    config = client.get("/admin/config", headers=ADMIN).json
    assert client.put("/admin/config", headers=ADMIN, json=config).status_code == 200
    assert load_admin_config(app.store).field_mapping == mapping


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        (
            {"contacts": [{"crm_field": "shoe_size", "target": "userDefined", "key": "x"}]},
            "contacts.0.crm_field",
            "no custom field 'shoe_size'",
        ),
        (
            {"contacts": [{"crm_field": "account_number", "target": "userDefined", "key": "A"}]},
            "contacts.0",
            "read-only",
        ),
        ({"contacts": [{"crm_field": "customer_tier", "target": "events", "key": "t"}]}, "contacts.0", "date field"),
        ({"contacts": [{"crm_field": "customer_tier", "target": "userDefined"}]}, "contacts.0", "needs a key"),
        (
            {"contacts": [{"crm_field": "customer_tier", "target": "nicknames", "key": "k"}]},
            "contacts.0",
            "takes no key",
        ),
        (
            {
                "contacts": [
                    {"crm_field": "customer_tier", "target": "userDefined", "key": "Tier"},
                    {"crm_field": "assistant", "target": "userDefined", "key": "tier"},
                ]
            },
            "contacts",
            "target of two CRM fields",
        ),
        (
            {"tasks": [{"crm_field": "priority", "target": "userDefined", "key": "P"}]},
            "tasks",
            "not a Google field of tasks",
        ),
        ({"contacts": [{"crm_field": "customer_tier", "target": "colour"}]}, "contacts.0.target", ""),
        (
            {
                "contacts": [
                    {
                        "crm_field": "account_number",
                        "target": "externalIds",
                        "key": "a",
                        "direction": "crm_to_google",
                        "fill_from": "google",
                    }
                ]
            },
            "contacts.0",
            "fill_from google contradicts the direction crm_to_google",
        ),
        (
            {"contacts": [{"crm_field": "assistant", "target": "nicknames", "fill_from": "both"}]},
            "contacts.0.fill_from",
            "",
        ),
        ({"events": [{"crm_field": "deal_stage", "target": "colorId"}]}, "events.0", "'Lead', 'Proposal'"),
        ({"events": [{"crm_field": "meeting_code", "target": "visibility"}]}, "events.0", "built-in private flag"),
        ({"events": [{"crm_field": "colour", "target": "transparency"}]}, "events.0", "'1', '2'"),
        ({"contacts": "all"}, "contacts", ""),
        ({"surprise": []}, "surprise", ""),
    ],
)
def test_a_bad_mapping_is_a_422_naming_the_field_and_nothing_is_stored(
    setup: Any, body: dict[str, Any], field: str, words: str
) -> None:
    app, client, _ = setup
    resp = client.put("/admin/field-mapping", headers=ADMIN, json=body)
    assert resp.status_code == 422, resp.json
    problems = resp.json["errors"]
    assert any(p["field"] == field and words in p["message"] for p in problems), problems
    assert load_admin_config(app.store).field_mapping.contacts == []


def test_only_the_admin_may_read_or_change_the_mapping(setup: Any) -> None:
    _, client, _ = setup
    assert client.get("/admin/field-mapping").status_code == 401
    assert client.put("/admin/field-mapping", json=GOOD, headers={"Authorization": "Bearer nope"}).status_code == 401


def test_users_see_the_mapping_read_only_on_their_settings_page(setup: Any) -> None:
    app, client, clock = setup
    assert client.put("/admin/field-mapping", headers=ADMIN, json=GOOD).status_code == 200
    cookie = issue_session(app.config.session_key, "u1", connection_id_for("u1"), timedelta(hours=1), clock())
    client.set_cookie("crmsync_session", cookie)
    page = client.get("/settings", headers={"Accept": "text/html"}).get_data(as_text=True)
    assert "custom_fields.customer_tier" in page and "userDefined (Customer tier)" in page
    assert "externalIds (account) (CRM to Google only)" in page
    assert "extendedProperties.private (dealStage)" in page and "notes (Priority: …)" in page
    assert 'name="custom_fields' not in page  # shown, not editable
