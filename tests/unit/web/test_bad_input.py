"""Bad input at every web entry point is a clear 4xx, never a 500 (issue 11 §3), on fakes."""

from __future__ import annotations

import io
import time
from datetime import timedelta
from typing import Any

import pytest
from werkzeug.test import Client

from crmsync.model.kinds import Kind
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
    seed_connection(app, "u1", kinds=tuple(Kind))
    return app, Client(WebApp(app)), clock


def _problem(resp: Any, *codes: int) -> None:
    assert resp.status_code in codes, (resp.status_code, resp.get_data(as_text=True)[:500])


@pytest.mark.parametrize("state", ["a/b", "..", ".", "__x__", "__" + "a" * 30 + "__", "x" * 5000, "é", "a b"])
def test_callback_with_an_odd_state_is_a_4xx(setup, state: str) -> None:  # type: ignore[no-untyped-def]
    _, client, _ = setup
    _problem(client.get("/oauth/callback", query_string={"state": state, "code": "c"}), 400, 403)


@pytest.mark.parametrize(("path", "method"), [("/settings", "put"), ("/admin/config", "put")])
def test_deeply_nested_json_is_refused(setup, path: str, method: str) -> None:  # type: ignore[no-untyped-def]
    _, client, _ = setup
    headers = ADMIN if path.startswith("/admin") else CRM
    for body in ("[" * 20_000 + "]" * 20_000, '{"a":' * 5000 + "1" + "}" * 5000):
        resp = getattr(client, method)(path, headers=headers, data=body, content_type="application/json")
        _problem(resp, 400, 422)
        assert "deep" in resp.json["detail"]


def test_a_body_over_the_cap_is_413_before_parsing(setup) -> None:  # type: ignore[no-untyped-def]
    _, client, _ = setup
    huge = {"contacts": {"never_overwrite_crm": ["x" * 1000] * 1100}}  # over 1 MiB as JSON
    _problem(client.put("/settings", headers=CRM, json=huge), 413)
    _problem(client.put("/admin/config", headers=ADMIN, json={"connect": {"user_ids": ["u" * 100] * 20_000}}), 413)


def test_a_10_mb_form_field_is_refused_at_once(setup) -> None:  # type: ignore[no-untyped-def]
    app, client, clock = setup
    value = issue_session(app.config.session_key, "u1", connection_id_for("u1"), timedelta(hours=1), clock())
    client.set_cookie("crmsync_session", value)
    session = read_session(value, app.config.session_key, clock())
    assert session is not None
    started = time.monotonic()
    form = {"csrf": csrf_token(session), "contacts.crm_tag": "x" * 10_000_000}
    resp = client.post("/settings", data=form, headers={"Accept": "text/html"})
    _problem(resp, 413)
    assert time.monotonic() - started < 5
    chunked = client.post(  # no Content-Length: the server reads until the cap, then stops
        "/settings",
        input_stream=io.BytesIO(b"csrf=" + b"x" * 10_000_000),
        headers={"Transfer-Encoding": "chunked", "Accept": "text/html"},
        content_type="application/x-www-form-urlencoded",
        environ_overrides={"wsgi.input_terminated": True},
    )
    _problem(chunked, 413)


@pytest.mark.parametrize(
    ("doc", "field"),
    [
        ({"contacts": {"max_delete_floor": 2**64}}, "contacts.max_delete_floor"),
        ({"contacts": {"max_delete_floor": -1}}, "contacts.max_delete_floor"),
        ({"events": {"crm_tag": "t" * 5000}}, "events.crm_tag"),
        ({"contacts": {"google_group": "g" * 5000}}, "contacts.google_group"),
        ({"contacts": {"never_overwrite_crm": [f"f{i}" for i in range(500)]}}, "contacts.never_overwrite_crm"),
        ({"contacts": {"never_overwrite_google": ["x" * 500]}}, "contacts.never_overwrite_google"),
        ({"event_options": {"read_calendars": ["a/b@example.com"]}}, "event_options.read_calendars.0"),
        ({"event_options": {"read_calendars": ["not an id"]}}, "event_options.read_calendars.0"),
        (
            {"event_options": {"read_calendars": [f"c{i}@example.com" for i in range(500)]}},
            "event_options.read_calendars",
        ),
        ({"task_options": {"lists": ["a/b"]}}, "task_options.lists.0"),
        ({"task_options": {"lists": [".."]}}, "task_options.lists.0"),
        ({"task_options": {"lists": ["x y"]}}, "task_options.lists.0"),
        ({"task_options": {"lists": [f"l{i}" for i in range(500)]}}, "task_options.lists"),
        ({"task_options": {"default_list": "a/b"}}, "task_options.default_list"),
        ({"event_options": {"calendar_name": "c\x00"}}, "event_options.calendar_name"),
    ],
)
def test_the_json_api_refuses_what_the_form_refuses(setup, doc: dict[str, Any], field: str) -> None:  # type: ignore[no-untyped-def]
    _, client, _ = setup
    resp = client.put("/settings", headers=CRM, json=doc)
    _problem(resp, 422)
    assert any(e["field"].startswith(field) for e in resp.json["errors"]), resp.json
    admin = client.get("/admin/config", headers=ADMIN).json
    admin["defaults"] = doc
    _problem(client.put("/admin/config", headers=ADMIN, json=admin), 422)


@pytest.mark.parametrize(
    "query", ["limit=²", "limit=٣", "limit=0", "limit=501", "limit=99999999999999999999", "status=nope", "cursor=a/b"]
)
def test_admin_list_parameters_are_checked(setup, query: str) -> None:  # type: ignore[no-untyped-def]
    _, client, _ = setup
    _problem(client.get(f"/admin/connections?{query}", headers=ADMIN), 400, 422)


@pytest.mark.parametrize("cid", ["__x__", "..", ".", "%2E%2E", "x" * 1600, "a%2Fb", "%C3%A9"])
def test_admin_connection_ids_are_checked(setup, cid: str) -> None:  # type: ignore[no-untyped-def]
    _, client, _ = setup
    _problem(client.post(f"/admin/connections/{cid}/pause", headers=ADMIN), 400, 404, 422)


@pytest.mark.parametrize("user", ["x" * 5000, "a\x7fb", "__x__"])
def test_odd_crm_user_headers_are_4xx(setup, user: str) -> None:  # type: ignore[no-untyped-def]
    _, client, _ = setup
    _problem(client.get("/status", headers={**CRM, "X-CRM-User": user}), 400, 403, 404)


def test_admin_config_lists_have_limits(setup) -> None:  # type: ignore[no-untyped-def]
    _, client, _ = setup
    cfg = client.get("/admin/config", headers=ADMIN).json
    cfg["connect"] = {"mode": "users", "user_ids": ["u" * 5000]}
    _problem(client.put("/admin/config", headers=ADMIN, json=cfg), 422)
    cfg["connect"] = {"mode": "roles", "roles": [f"r{i}" for i in range(5000)]}
    _problem(client.put("/admin/config", headers=ADMIN, json=cfg), 422)
