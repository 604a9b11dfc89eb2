"""POST /crm/changes: the CRM's signed change notifications (issue 16, "The CRM"). A valid call queues a
debounced sync of the kinds named; forged, stale, replayed, oversized or odd calls are a clear 4xx and
queue nothing."""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from werkzeug.test import Client

from crmsync.bootstrap import App
from crmsync.model.kinds import Kind
from crmsync.model.state import ConnectionStatus
from crmsync.security.webhooks import sign
from crmsync.services.scopes import connection_id_for
from crmsync.web.app import WebApp
from tests.unit.services.appfakes import Clock, make_app, seed_connection

pytestmark = pytest.mark.unit
SECRET = b"crm-webhook-secret-" + b"w" * 32
URL = "/crm/changes"


def setup() -> tuple[App, Client, Clock]:
    app, _google, clock = make_app()
    app.config = replace(app.config, crm_webhook_secret=SECRET)  # type: ignore[misc]
    seed_connection(app, "u1")
    return app, Client(WebApp(app)), clock


def body(n: int = 1, user: str = "u1", kinds: list[str] | None = None, **extra: Any) -> bytes:
    return json.dumps({"id": f"evt-{n}", "user_id": user, "kinds": kinds or ["contacts"], **extra}).encode()


def post(client: Client, clock: Clock, data: bytes, *, secret: bytes = SECRET, age_s: float = 0, **headers: str) -> Any:
    signed = sign(secret, data, clock() - timedelta(seconds=age_s))
    return client.post(URL, data=data, headers={**signed, **headers}, content_type="application/json")


def tasks(app: App) -> list[Any]:
    return list(app.queue.tasks)  # type: ignore[attr-defined]


def test_a_signed_notification_queues_a_debounced_sync_of_the_kinds_named() -> None:
    app, client, clock = setup()
    resp = post(client, clock, body(1, kinds=["activities", "companies"]))
    assert resp.status_code == 202, resp.json
    assert resp.json["queued"] == ["contacts", "events"] and resp.json["ignored"] is None
    [task] = tasks(app)
    assert task.connection_id == connection_id_for("u1")
    assert task.payload["reason"] == "push" and task.payload["kinds"] == ["contacts", "events"]
    assert 0 < task.delay_seconds <= 5
    # A burst in the same window is the same run.
    for n in range(2, 12):
        assert post(client, clock, body(n, kinds=["contacts", "activities"])).status_code == 202
    assert len(tasks(app)) == 1


def test_the_signature_can_be_made_with_openssl_or_the_python_standard_library() -> None:
    """The docs' recipe, byte for byte: HMAC-SHA256 over '<timestamp>.<body>', hex, as 'v1=<hex>'."""
    _app, client, clock = setup()
    data = body(7)
    timestamp = str(int(clock().timestamp()))
    mac = hmac.new(SECRET, timestamp.encode() + b"." + data, hashlib.sha256).hexdigest()
    headers = {"X-CrmSync-Timestamp": timestamp, "X-CrmSync-Signature": f"v1={mac}"}
    assert client.post(URL, data=data, headers=headers, content_type="application/json").status_code == 202


@pytest.mark.parametrize(
    ("attack", "status", "problem"),
    [
        ("forged signature", 401, "webhook-signature"),
        ("another secret", 401, "webhook-signature"),
        ("body changed after signing", 401, "webhook-signature"),
        ("six minutes old", 401, "webhook-stale"),
        ("six minutes ahead", 401, "webhook-stale"),
        ("no signature", 401, "webhook-signature"),
        ("no timestamp", 401, "webhook-signature"),
        ("timestamp not a number", 401, "webhook-signature"),
        ("too many signatures", 401, "webhook-signature"),
        ("uppercase hex", 401, "webhook-signature"),
    ],
)
def test_forged_or_stale_calls_are_401_and_queue_nothing(attack: str, status: int, problem: str) -> None:
    app, client, clock = setup()
    data = body()
    good = sign(SECRET, data, clock())
    headers = {
        "forged signature": {**good, "X-CrmSync-Signature": "v1=" + "0" * 64},
        "another secret": sign(b"not-the-secret-" + b"x" * 32, data, clock()),
        "body changed after signing": good,
        "six minutes old": sign(SECRET, data, clock() - timedelta(minutes=6)),
        "six minutes ahead": sign(SECRET, data, clock() + timedelta(minutes=6)),
        "no signature": {"X-CrmSync-Timestamp": good["X-CrmSync-Timestamp"]},
        "no timestamp": {"X-CrmSync-Signature": good["X-CrmSync-Signature"]},
        "timestamp not a number": {**good, "X-CrmSync-Timestamp": "1e9"},
        "too many signatures": {**good, "X-CrmSync-Signature": ",".join([good["X-CrmSync-Signature"]] * 5)},
        "uppercase hex": {**good, "X-CrmSync-Signature": good["X-CrmSync-Signature"].upper().replace("V1", "v1")},
    }[attack]
    sent = body(2) if attack == "body changed after signing" else data
    resp = client.post(URL, data=sent, headers=headers, content_type="application/json")
    assert resp.status_code == status, resp.json
    assert resp.mimetype == "application/problem+json"
    assert resp.json["type"] == f"urn:crm-sync:problem:{problem}"
    assert tasks(app) == []


def test_a_signature_by_the_old_or_the_new_secret_passes_while_the_crm_rotates() -> None:
    _app, client, clock = setup()
    data = body()
    old = sign(b"the-old-secret-" + b"o" * 32, data, clock())["X-CrmSync-Signature"]
    new = sign(SECRET, data, clock())
    headers = {**new, "X-CrmSync-Signature": f"{old}, {new['X-CrmSync-Signature']}"}
    assert client.post(URL, data=data, headers=headers, content_type="application/json").status_code == 202


def test_a_replay_is_409_even_re_signed_within_the_window() -> None:
    app, client, clock = setup()
    assert post(client, clock, body(1)).status_code == 202
    clock.advance(seconds=30)  # the next debounce window: a replay would queue a second run
    again = post(client, clock, body(1))
    assert again.status_code == 409 and again.json["type"] == "urn:crm-sync:problem:webhook-replayed"
    clock.advance(minutes=4)
    assert post(client, clock, body(1), age_s=1).status_code == 409
    assert len(tasks(app)) == 1


@pytest.mark.parametrize(
    ("data", "content_type", "status"),
    [
        (b"x" * 20_000, "application/json", 413),
        (b"x" * 70_000, "application/json", 413),
        (b'{"id": "e1", "user_id": "u1", "kinds": ["contacts"]}', "text/plain", 415),
        (b"id=e1&user_id=u1", "application/x-www-form-urlencoded", 415),
        (b"{not json", "application/json", 422),
        (b"[1, 2]", "application/json", 422),
        (b"[" * 5000 + b"]" * 5000, "application/json", 422),
        (b'{"id": "e1", "user_id": "u1", "kinds": ["contacts"], "extra": 1}', "application/json", 422),
        (b'{"id": "e 1", "user_id": "u1", "kinds": ["contacts"]}', "application/json", 422),
        (b'{"id": "e1", "user_id": "", "kinds": ["contacts"]}', "application/json", 422),
        (b'{"id": "e1", "user_id": "u1", "kinds": []}', "application/json", 422),
        (b'{"id": "e1", "user_id": "u1", "kinds": ["people"]}', "application/json", 422),
        (b'{"id": "e1", "user_id": 7, "kinds": "contacts"}', "application/json", 422),
        (b'{"id": "e1", "user_id": "u1", "kinds": ["contacts"]}\xff', "application/json", 422),
    ],
)
def test_odd_bodies_are_a_clear_4xx_never_a_500(data: bytes, content_type: str, status: int) -> None:
    app, client, clock = setup()
    resp = client.post(URL, data=data, headers=sign(SECRET, data, clock()), content_type=content_type)
    assert resp.status_code == status, resp.get_data(as_text=True)[:300]
    assert resp.mimetype == "application/problem+json"
    assert tasks(app) == []


@pytest.mark.parametrize(
    ("change", "ignored"),
    [
        ("unknown user", "the user has no connection"),
        ("paused", "the connection is paused"),
        ("needs reauth", "the connection is needs_reauth"),
        ("contacts off", "the connection does not sync these kinds"),
        ("admin paused all", "the administrator paused all syncing"),
    ],
)
def test_a_valid_call_for_a_connection_that_does_not_sync_queues_nothing(change: str, ignored: str) -> None:
    app, client, clock = setup()
    user = "nobody" if change == "unknown user" else "u1"
    cid = connection_id_for("u1")
    if change == "paused":
        app.store.update_connection(cid, {"status": ConnectionStatus.PAUSED})
    if change == "needs reauth":
        app.store.update_connection(cid, {"status": ConnectionStatus.NEEDS_REAUTH})
    if change == "contacts off":
        connection = app.store.get_connection(cid)
        assert connection is not None
        settings = connection.settings.model_copy(
            update={"contacts": connection.settings.kind(Kind.CONTACTS).model_copy(update={"enabled": False})}
        )
        app.store.update_connection(cid, {"settings": settings})
    if change == "admin paused all":
        app.store.put_global_config({"sync_enabled": False})
    resp = post(client, clock, body(1, user=user))
    assert resp.status_code == 202 and resp.json == {
        "id": "evt-1",
        "queued": [],
        "ignored": ignored,
        "run_in_seconds": None,
    }
    assert tasks(app) == []


def test_without_a_webhook_secret_the_route_refuses_every_call() -> None:
    app, client, clock = setup()
    app.config = replace(app.config, crm_webhook_secret=None)  # type: ignore[misc]
    resp = post(client, clock, body())
    assert resp.status_code == 404 and "CRMSYNC_CRM_WEBHOOK_SECRET" in resp.json["detail"]
    assert tasks(app) == []
