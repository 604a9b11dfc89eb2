"""A CRM without tasks: the status API and the settings page show tasks switched off and say why."""

from __future__ import annotations

from datetime import timedelta

import pytest
from werkzeug.test import Client

from crmsync.crm.fake import FakeCrm
from crmsync.crm.models import Capabilities
from crmsync.model.kinds import Kind
from crmsync.security.sessions import issue_session
from crmsync.services.scopes import connection_id_for
from crmsync.web.app import WebApp
from tests.unit.services.appfakes import CRM_KEY, make_app, seed_connection

pytestmark = pytest.mark.unit


def test_a_kind_the_crm_does_not_offer_is_shown_off_with_the_reason() -> None:
    app, _google, clock = make_app()
    assert isinstance(app.crm, FakeCrm)
    app.crm.caps = Capabilities(kinds=["contacts", "companies", "activities"])
    seed_connection(app, "u1", kinds=tuple(Kind))
    client = Client(WebApp(app))
    status = client.get("/status", headers={"Authorization": f"Bearer {CRM_KEY}", "X-CRM-User": "u1"}).json
    assert status["kinds"]["tasks"]["allowed"] is False
    assert "does not offer tasks" in status["kinds"]["tasks"]["reason"]
    assert status["kinds"]["contacts"] == {"enabled": True, "granted": True, "allowed": True, "reason": None}
    cookie = issue_session(app.config.session_key, "u1", connection_id_for("u1"), timedelta(hours=1), clock())
    client.set_cookie("crmsync_session", cookie)
    page = client.get("/settings", headers={"Accept": "text/html"}).get_data(as_text=True)
    assert 'id="kind-off-tasks"' in page and "Your CRM does not offer tasks to sync" in page
    assert 'id="kind-off-contacts"' not in page


def test_a_crm_declaring_another_major_version_is_not_synced_and_says_why() -> None:
    app, _google, _clock = make_app()
    assert isinstance(app.crm, FakeCrm)
    app.crm.caps = Capabilities(api_version="2.0")
    seed_connection(app, "u1", kinds=tuple(Kind))
    client = Client(WebApp(app))
    status = client.get("/status", headers={"Authorization": f"Bearer {CRM_KEY}", "X-CRM-User": "u1"}).json
    assert all(k["allowed"] is False for k in status["kinds"].values())
    assert "speaks version 2.0 of the CRM Sync API" in status["kinds"]["contacts"]["reason"]
