"""The web app's JSON and admin API through werkzeug's test client, on fakes."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from werkzeug.test import Client

from crmsync.model.kinds import Kind
from crmsync.model.state import ConnectionStatus
from crmsync.security.sessions import csrf_token, issue_session, read_session
from crmsync.services.scopes import connection_id_for
from crmsync.web.app import WebApp
from tests.unit.services.appfakes import ADMIN_KEY, CRM_KEY, make_app, seed_connection

pytestmark = pytest.mark.unit
CRM = {"Authorization": f"Bearer {CRM_KEY}", "X-CRM-User": "u1"}
ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}


@pytest.fixture
def setup():  # type: ignore[no-untyped-def]
    app, _google, clock = make_app()
    seed_connection(app, "u1", kinds=(Kind.CONTACTS, Kind.EVENTS), settings={"tasks": {"enabled": False}})
    return app, Client(WebApp(app)), clock


def test_crm_bearer_reads_settings_and_status(setup) -> None:  # type: ignore[no-untyped-def]
    _, client, _ = setup
    resp = client.get("/settings", headers=CRM)
    assert resp.status_code == 200
    assert resp.json["connection_id"] == connection_id_for("u1")
    status = client.get("/status", headers=CRM).json
    assert status["status"] == "active"
    assert status["kinds"]["tasks"]["granted"] is False


def test_put_settings_returns_422_problem_with_field_paths(setup) -> None:  # type: ignore[no-untyped-def]
    _, client, _ = setup
    body = {"interval_minutes": 99999, "tasks": {"enabled": False}, "contacts": {"conflict_policy": "coin_flip"}}
    resp = client.put("/settings", headers=CRM, json=body)
    assert resp.status_code == 422
    assert resp.mimetype == "application/problem+json"
    assert {e["field"] for e in resp.json["errors"]} == {"interval_minutes", "contacts.conflict_policy"}
    ok = client.put("/settings", headers=CRM, json={"interval_minutes": 15, "tasks": {"enabled": False}})
    assert ok.status_code == 200
    assert ok.json["settings"]["interval_minutes"] == 15
    garbled = client.put("/settings", headers=CRM, data="{nope", content_type="application/json")
    assert garbled.status_code == 422
    assert "not valid JSON" in garbled.json["detail"]


def test_auth_failures_are_problems(setup) -> None:  # type: ignore[no-untyped-def]
    _, client, _ = setup
    assert client.get("/status").status_code == 401
    wrong = client.get("/status", headers={"Authorization": "Bearer nope", "X-CRM-User": "u1"})
    assert wrong.status_code == 401
    assert wrong.mimetype == "application/problem+json"
    no_user = client.get("/status", headers={"Authorization": f"Bearer {CRM_KEY}"})
    assert "X-CRM-User" in no_user.json["detail"]
    assert client.get("/status", headers={**CRM, "X-CRM-User": "u2"}).status_code == 404
    assert client.get("/admin/config", headers=CRM).status_code == 401  # the CRM key is not the admin key


def test_cookie_session_writes_need_the_csrf_header(setup) -> None:  # type: ignore[no-untyped-def]
    app, client, clock = setup
    value = issue_session(app.config.session_key, "u1", connection_id_for("u1"), timedelta(hours=1), clock())
    client.set_cookie("crmsync_session", value)
    assert client.post("/sync").status_code == 403
    session = read_session(value, app.config.session_key, clock())
    assert session is not None
    resp = client.post("/sync", headers={"X-CSRF-Token": csrf_token(session)})
    assert resp.status_code == 202
    assert resp.json["enqueued"] is True


def test_settings_page_without_a_connection_offers_connect(setup) -> None:  # type: ignore[no-untyped-def]
    app, client, clock = setup
    value = issue_session(app.config.session_key, "u2", connection_id_for("u2"), timedelta(hours=1), clock())
    client.set_cookie("crmsync_session", value)
    page = client.get("/settings", headers={"Accept": "text/html"})
    assert page.status_code == 200
    assert 'id="connect"' in page.text
    assert page.headers["Cache-Control"] == "no-store"
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]


def test_needs_reauth_shows_a_reconnect_button(setup) -> None:  # type: ignore[no-untyped-def]
    app, client, clock = setup
    app.store.update_connection(connection_id_for("u1"), {"status": ConnectionStatus.NEEDS_REAUTH})
    value = issue_session(app.config.session_key, "u1", connection_id_for("u1"), timedelta(hours=1), clock())
    client.set_cookie("crmsync_session", value)
    page = client.get("/settings", headers={"Accept": "text/html"}).text
    assert 'id="reauth-notice"' in page
    assert 'id="reconnect"' in page
    assert 'id="sync-now"' not in page


def test_admin_api(setup) -> None:  # type: ignore[no-untyped-def]
    _app, client, _ = setup
    assert client.get("/admin/config").status_code == 401
    cfg = client.get("/admin/config", headers=ADMIN).json
    assert cfg["sync_enabled"] is True
    assert cfg["connect"]["mode"] == "all"
    cfg["sync_enabled"] = False
    assert client.put("/admin/config", headers=ADMIN, json=cfg).json["sync_enabled"] is False
    bad = client.put("/admin/config", headers=ADMIN, json={"connect": {"mode": "everyone"}})
    assert bad.status_code == 422
    assert bad.json["errors"][0]["field"].startswith("connect")
    listed = client.get("/admin/connections?status=active&limit=10", headers=ADMIN).json
    assert [c["crm_user_id"] for c in listed["connections"]] == ["u1"]
    assert "refresh" not in json.dumps(listed)
    cid = connection_id_for("u1")
    assert client.post(f"/admin/connections/{cid}/pause", headers=ADMIN).json["status"] == "paused"
    assert client.post(f"/admin/connections/{cid}/resume", headers=ADMIN).json["status"] == "active"
    assert client.get("/admin/connections?limit=abc", headers=ADMIN).status_code == 422
    assert client.post("/admin/connections/c_missing/pause", headers=ADMIN).status_code == 404
    assert client.post("/sync", headers=CRM).json["title"] == "Not possible right now"  # global pause


def test_unknown_routes_and_methods(setup) -> None:  # type: ignore[no-untyped-def]
    _, client, _ = setup
    assert client.get("/nope").status_code == 404
    resp = client.delete("/settings", headers=CRM)
    assert resp.status_code == 405
    assert "GET" in resp.headers["Allow"]
    assert client.get("/openapi.yaml").data.startswith(b"openapi: 3.1.0")
    assert client.get("/healthz").json == {"status": "ok"}


def test_connect_with_a_bad_link_is_a_403_page(setup) -> None:  # type: ignore[no-untyped-def]
    _, client, _ = setup
    resp = client.get("/connect?t=garbage", headers={"Accept": "text/html"})
    assert resp.status_code == 403
    assert "This link is not valid" in resp.text
    assert client.get("/connect").status_code == 403


def test_session_cookie_is_secure_outside_localhost() -> None:
    from dataclasses import replace

    from werkzeug.wrappers import Response

    from crmsync.web.auth import start_session

    app, _, _ = make_app()
    local, prod = Response(), Response()
    start_session(app, local, "u1")
    app.config = replace(app.config, base_url="https://sync.example.com")
    start_session(app, prod, "u1")
    assert "Secure" not in local.headers["Set-Cookie"]
    cookie = prod.headers["Set-Cookie"]
    assert "Secure" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
