"""The admin page's field-mapping section: the CRM's custom fields per kind, mapped with a form that
goes through the same checks as the admin API; a refused entry is shown beside its row."""

from __future__ import annotations

import re
from typing import Any

import pytest
from werkzeug.test import Client

from crmsync.crm.custom_fields import REFERENCE_FIELDS
from crmsync.crm.fake import FakeCrm
from crmsync.services.admin_config import load_admin_config
from crmsync.web.app import WebApp
from tests.unit.services.appfakes import make_app
from tests.unit.web.test_admin_pages import sign_in

pytestmark = pytest.mark.unit
FORM = "application/x-www-form-urlencoded"


@pytest.fixture
def signed_in() -> Any:
    app, _google, _clock = make_app()
    assert isinstance(app.crm, FakeCrm)
    app.crm.declare_fields(REFERENCE_FIELDS)
    client = Client(WebApp(app))
    assert sign_in(client).status_code == 303
    return app, client


def _csrf(text: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', text)
    assert found
    return found.group(1)


def test_the_admin_maps_fields_on_the_page(signed_in: Any) -> None:
    app, client = signed_in
    page = client.get("/admin/fields", headers={"Accept": "text/html"})
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and 'id="nav-fields"' in text
    assert 'id="row-contacts.customer_tier"' in text and 'id="row-tasks.priority"' in text
    form = {
        "csrf": _csrf(text),
        "contacts.customer_tier.target": "userDefined",
        "contacts.customer_tier.key": "Customer tier",
        "contacts.customer_tier.direction": "two_way",
        "contacts.customer_tier.fill_from": "crm",
        "contacts.account_number.target": "externalIds",
        "contacts.account_number.key": "account",
        "contacts.account_number.direction": "crm_to_google",
        "tasks.priority.target": "notes_line",
        "tasks.priority.key": "Priority",
    }
    saved = client.post("/admin/fields", data=form, content_type=FORM)
    assert saved.status_code == 303 and saved.headers["Location"].endswith("/admin/fields?notice=saved")
    mapping = load_admin_config(app.store).field_mapping
    assert [(m.field.name, m.target.value, m.key) for m in mapping.contacts] == [
        ("customer_tier", "userDefined", "Customer tier"),
        ("account_number", "externalIds", "account"),
    ]
    assert [m.fill_from.value if m.fill_from else None for m in mapping.contacts] == ["crm", None]
    again = client.get("/admin/fields?notice=saved", headers={"Accept": "text/html"}).get_data(as_text=True)
    assert 'id="notice-saved"' in again and 'value="Customer tier"' in again
    assert '<option value="crm" selected>' in again  # the fill-from choice is shown as saved


def test_a_refused_entry_is_shown_beside_its_row_and_nothing_is_saved(signed_in: Any) -> None:
    app, client = signed_in
    text = client.get("/admin/fields", headers={"Accept": "text/html"}).get_data(as_text=True)
    form = {
        "csrf": _csrf(text),
        "contacts.account_number.target": "userDefined",
        "contacts.account_number.key": "Account",
        "contacts.account_number.direction": "two_way",
    }
    refused = client.post("/admin/fields", data=form, content_type=FORM)
    body = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert 'id="contacts.account_number-error"' in body and "read-only" in body
    assert 'value="Account"' in body  # what the admin typed is kept
    assert load_admin_config(app.store).field_mapping.contacts == []


def test_the_section_needs_the_admin_session_and_its_csrf_token(signed_in: Any) -> None:
    _app, client = signed_in
    stranger = Client(WebApp(make_app()[0]))
    assert stranger.get("/admin/fields", headers={"Accept": "text/html"}).status_code == 303  # to the sign-in
    forged = client.post("/admin/fields", data={"contacts.customer_tier.target": "nicknames"}, content_type=FORM)
    assert forged.status_code == 403
