"""The admin's HTML pages through werkzeug's test client, on fakes: sign in with the admin key in a form
(never a URL), wrong keys refused and slowed down, the connections with their health filtered by state
and paged, pause / resume / "Sync now" with CSRF, sign out. The browser test is tests/e2e/test_admin_browser.py."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from werkzeug.test import Client, TestResponse

from crmsync.bootstrap import App
from crmsync.model.kinds import Kind
from crmsync.model.state import ConnectionStatus
from crmsync.services.scopes import connection_id_for
from crmsync.web.app import WebApp
from tests.unit.services.appfakes import ADMIN_KEY, make_app, seed_connection

pytestmark = pytest.mark.unit
FORM = "application/x-www-form-urlencoded"


def report(**fields: Any) -> dict[str, Any]:
    return {"writes": {}, "notes": [], "errors": [], "conflicts": [], "complete": True, **fields}


def log_run(app: App, user: str, **kinds: dict[str, Any]) -> None:
    reports = {k.value: {"kind": k.value, **kinds.get(k.value, report())} for k in Kind}
    run = {"run_id": f"r-{user}", "started_at": app.clock(), "finished_at": app.clock(), "reason": "tick"}
    app.store.append_run(connection_id_for(user), f"r-{user}", {**run, "kinds": reports}, app.clock() + timedelta(30))


def world() -> tuple[App, Client]:
    """Five connections, one in each state the admin filters by."""
    app, _google, clock = make_app()
    for _n, user in enumerate(["synced", "stopped", "reauth", "paused", "failing"]):
        clock.advance(minutes=1)  # newest first: failing, paused, reauth, stopped, synced
        seed_connection(app, user)
        log_run(app, user)
    log_run(
        app,
        "stopped",
        contacts=report(stopped="stopped before deleting 15 contacts", complete=False, would_delete=[{"name": "A"}]),
    )
    log_run(app, "failing", tasks=report(errors=["update in crm of t9: CRM 422: title too long"]))
    app.store.update_connection(connection_id_for("reauth"), {"status": ConnectionStatus.NEEDS_REAUTH})
    app.store.update_connection(connection_id_for("paused"), {"status": ConnectionStatus.PAUSED})
    return app, Client(WebApp(app))


def sign_in(client: Client, key: str = ADMIN_KEY, **headers: str) -> TestResponse:
    """Open the sign-in form (its CSRF token and cookie), then post the key."""
    form = client.get("/admin/login", headers=headers)
    return client.post("/admin/login", data={"key": key, "csrf": csrf_of(form)}, content_type=FORM, headers=headers)


def signed_in_cookie(resp: TestResponse) -> bool:
    """Whether the reply sets an admin session cookie (the sign-in form's own cookie does not count)."""
    return any(
        c.split("=", 1)[0] in ("crmsync_admin", "__Host-crmsync_admin") for c in resp.headers.getlist("Set-Cookie")
    )


def csrf_of(page: TestResponse) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page.get_data(as_text=True))
    assert found, "no CSRF field on the page"
    return found.group(1)


def rows(page: TestResponse) -> list[str]:
    return re.findall(r'<tr id="conn-([^"]+)"', page.get_data(as_text=True))


def test_the_admin_signs_in_with_the_key_and_sees_every_connection_with_its_health() -> None:
    _app, client = world()
    assert client.get("/admin").headers["Location"] == "/admin/login"
    form = client.get("/admin/login")
    assert form.status_code == 200 and 'method="post" action="/admin/login"' in form.get_data(as_text=True)
    ok = sign_in(client)
    assert ok.status_code == 303 and ok.headers["Location"].startswith("/admin")
    page = client.get("/admin")
    assert page.status_code == 200
    assert rows(page) == ["failing", "paused", "reauth", "stopped", "synced"]
    text = page.get_data(as_text=True)
    state = {u: re.search(rf'id="conn-{u}-state"><strong class="state">([^<]+)<', text).group(1) for u in rows(page)}  # type: ignore[union-attr]
    assert state == {
        "synced": "In sync",
        "stopped": "Stopped",
        "reauth": "Needs reconnecting",
        "paused": "Paused",
        "failing": "Records failing",
    }
    assert "stopped before deleting 15 contacts" in text and "1 failing" in text


@pytest.mark.parametrize(
    ("state", "users"),
    [
        ("in_sync", ["synced"]),
        ("stopped", ["stopped"]),
        ("needs_reconnect", ["reauth"]),
        ("paused", ["paused"]),
        ("failing", ["failing"]),
    ],
)
def test_the_list_filters_by_health_state(state: str, users: list[str]) -> None:
    _app, client = world()
    sign_in(client)
    assert rows(client.get(f"/admin?state={state}")) == users


def test_an_unknown_filter_or_limit_is_a_clear_400_not_a_500() -> None:
    _app, client = world()
    sign_in(client)
    for query in ("state=exploded", "limit=0", "limit=%C2%B2", "cursor=garbage", "cursor=" + "x" * 2000):
        resp = client.get("/admin?" + query)
        assert resp.status_code == 400, query
        assert "not valid" in resp.get_data(as_text=True)


def test_paging_walks_every_connection_once_also_through_a_filter() -> None:
    app, client = world()
    for n in range(30):
        seed_connection(app, f"extra{n:02d}")
        log_run(
            app, f"extra{n:02d}", events=report(stopped="the calendar is gone", complete=False) if n % 3 else report()
        )
    sign_in(client)
    for query, expected in (("", 35), ("state=stopped", 21), ("state=in_sync", 11)):
        seen: list[str] = []
        url: str | None = f"/admin?limit=4&{query}"
        while url:
            page = client.get(url)
            assert page.status_code == 200
            seen += rows(page)
            found = re.search(r'<a href="([^"]+)" id="more"', page.get_data(as_text=True))
            url = found.group(1).replace("&amp;", "&") if found else None
        assert len(seen) == expected == len(set(seen)), query


def test_a_wrong_key_is_a_403_and_too_many_are_slowed_down() -> None:
    _app, client = world()
    wrong = sign_in(client, "not-the-key", **{"X-Forwarded-For": "203.0.113.9"})
    assert wrong.status_code == 403
    assert "That is not the admin key." in wrong.get_data(as_text=True)
    assert not signed_in_cookie(wrong)
    for _ in range(4):
        assert sign_in(client, "guess", **{"X-Forwarded-For": "203.0.113.9"}).status_code == 403
    slowed = sign_in(client, ADMIN_KEY, **{"X-Forwarded-For": "203.0.113.9"})  # even the right key waits now
    assert slowed.status_code == 429 and int(slowed.headers["Retry-After"]) > 0
    assert client.get("/admin").status_code == 303  # not signed in
    assert sign_in(client, ADMIN_KEY, **{"X-Forwarded-For": "198.51.100.7"}).status_code == 303  # another client
    assert sign_in(client, "k" * 5000).status_code == 403  # an oversized key is refused, not compared
    assert sign_in(client, "k" * 100_000).status_code == 413  # over the body limit: never read


def test_the_admin_key_in_a_url_signs_nobody_in() -> None:
    _app, client = world()
    assert not signed_in_cookie(client.get(f"/admin/login?key={ADMIN_KEY}"))
    assert client.get(f"/admin?key={ADMIN_KEY}").status_code == 303
    assert client.post(f"/admin/login?key={ADMIN_KEY}", data={}, content_type=FORM).status_code == 403


def test_a_sign_in_not_from_our_form_is_refused_and_not_counted() -> None:
    _app, client = world()
    # Another site posting the right key (no form token, or a token without this browser's cookie).
    forged = client.post("/admin/login", data={"key": ADMIN_KEY}, content_type=FORM)
    assert forged.status_code == 403 and not signed_in_cookie(forged)
    stranger = Client(WebApp(_app))
    token = csrf_of(stranger.get("/admin/login"))
    other = client.post("/admin/login", data={"key": ADMIN_KEY, "csrf": token + "x"}, content_type=FORM)
    assert other.status_code == 403
    for _ in range(6):  # refused before the key is looked at: no throttling of the real admin
        client.post("/admin/login", data={"key": "guess"}, content_type=FORM)
    assert sign_in(client).status_code == 303


def test_pause_resume_and_sync_now_from_the_page_use_the_admin_services_with_csrf() -> None:
    app, client = world()
    sign_in(client)
    page = client.get("/admin?state=in_sync")
    csrf, cid = csrf_of(page), connection_id_for("synced")
    # No CSRF token: refused, nothing paused.
    refused = client.post(f"/admin/connections/{cid}/pause", data={}, content_type=FORM)
    assert refused.status_code == 403
    assert app.store.get_connection(cid).status is ConnectionStatus.ACTIVE  # type: ignore[union-attr]
    paused = client.post(f"/admin/connections/{cid}/pause", data={"csrf": csrf, "state": "in_sync"}, content_type=FORM)
    assert paused.status_code == 303
    assert paused.headers["Location"] == "/admin?state=in_sync&notice=paused&who=synced"
    assert app.store.get_connection(cid).status is ConnectionStatus.PAUSED  # type: ignore[union-attr]
    assert "is paused" in client.get(paused.headers["Location"]).get_data(as_text=True)
    # Sync now on a paused connection: the service's own refusal, as a page.
    refused_sync = client.post(f"/admin/connections/{cid}/sync", data={"csrf": csrf}, content_type=FORM)
    assert refused_sync.status_code == 409 and "paused" in refused_sync.get_data(as_text=True)
    resumed = client.post(f"/admin/connections/{cid}/resume", data={"csrf": csrf}, content_type=FORM)
    assert resumed.status_code == 303
    assert app.store.get_connection(cid).status is ConnectionStatus.ACTIVE  # type: ignore[union-attr]
    synced = client.post(f"/admin/connections/{cid}/sync", data={"csrf": csrf}, content_type=FORM)
    assert synced.status_code == 303 and "notice=sync" in synced.headers["Location"]
    assert [t.connection_id for t in app.queue.tasks] == [cid]  # type: ignore[attr-defined]
    missing = client.post("/admin/connections/not!an!id/pause", data={"csrf": csrf}, content_type=FORM)
    assert missing.status_code == 404


def test_sync_now_in_the_admin_api_with_the_bearer_key() -> None:
    _app, client = world()
    cid = connection_id_for("synced")
    resp = client.post(f"/admin/connections/{cid}/sync", headers={"Authorization": f"Bearer {ADMIN_KEY}"})
    assert resp.status_code == 202 and resp.json == {"enqueued": True, "rerun_requested": False}
    assert client.post(f"/admin/connections/{cid}/sync").status_code == 401


def test_sign_out_ends_the_session_and_a_new_key_ends_every_old_session() -> None:
    app, client = world()
    sign_in(client)
    csrf = csrf_of(client.get("/admin"))
    assert client.post("/admin/logout", data={}, content_type=FORM).status_code == 403  # CSRF
    out = client.post("/admin/logout", data={"csrf": csrf}, content_type=FORM)
    assert out.status_code == 303 and client.get("/admin").status_code == 303
    sign_in(client)
    assert client.get("/admin").status_code == 200
    app.config = replace(app.config, admin_api_key="rotated-admin-key-" + "r" * 30)  # type: ignore[misc]
    assert client.get("/admin").status_code == 303


def test_the_admin_cookie_is_host_prefixed_strict_and_never_a_user_session() -> None:
    app, client = world()
    app.config = replace(app.config, base_url="https://sync.example.com")  # type: ignore[misc]
    form = client.get("/admin/login")
    login_cookie = form.headers["Set-Cookie"]
    assert login_cookie.startswith("__Host-crmsync_admin_login=") and "SameSite=Strict" in login_cookie
    client.set_cookie("__Host-crmsync_admin_login", login_cookie.split(";")[0].split("=", 1)[1], domain="localhost")
    signed = client.post("/admin/login", data={"key": ADMIN_KEY, "csrf": csrf_of(form)}, content_type=FORM)
    cookie = signed.headers["Set-Cookie"]
    assert cookie.startswith("__Host-crmsync_admin=")
    for part in ("Secure", "HttpOnly", "Path=/", "SameSite=Strict"):
        assert part in cookie
    assert "Domain" not in cookie
    value = cookie.split(";")[0].split("=", 1)[1]
    # The admin session put in the user's cookie is no user session.
    user = Client(WebApp(app))
    user.set_cookie("__Host-crmsync_session", value, domain="localhost")
    assert user.get("/status").status_code == 401


def test_the_admin_api_lists_by_health_state_with_the_same_facts() -> None:
    _app, client = world()
    admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
    body = client.get("/admin/connections?state=stopped", headers=admin).json
    [item] = body["connections"]
    assert item["crm_user_id"] == "stopped" and item["health"]["state"] == "stopped"
    assert item["health"]["kinds"]["contacts"]["why"] == "stopped before deleting 15 contacts"
    assert body["scanned"] == 5 and body["next_cursor"] is None
    for query in ("state=bored", "state=stopped&status=active", "state=stopped&limit=101"):
        resp = client.get("/admin/connections?" + query, headers=admin)
        assert resp.status_code == 422 and resp.mimetype == "application/problem+json", query


def test_the_page_says_whether_the_crm_was_told() -> None:
    from crmsync.services.notify_crm import notify_crm

    app, client = world()
    notify_crm(app, connection_id_for("stopped"))  # the fake CRM takes notifications
    sign_in(client)
    page = client.get("/admin?state=stopped").get_data(as_text=True)
    assert 'id="conn-stopped-told-safety_stop"' in page and "The CRM was told" in page
