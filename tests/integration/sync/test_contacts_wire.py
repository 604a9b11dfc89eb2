"""Contact sync over real wire protocols: the reference CRM over HTTP, the
Google emulator through google-api-python-client, and the engine between."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from crmsync.crm.rest import RestCrmConnector
from crmsync.google.client import Endpoint
from crmsync.model.settings import ContactOptions, SyncSettings
from crmsync.model.state import Connection
from crmsync.services.run_sync import GRANT_SCOPES, GoogleAccess, RunDeps, sync_connection
from crmsync.store.memory import MemoryStore
from infra.crm import CrmServer
from infra.crm.seed import seed

pytestmark = pytest.mark.integration
ACCOUNT = "demo@example.com"


class Stack:
    def __init__(self, emulator: Any, crm_server: CrmServer, crm_user: str) -> None:
        self.emulator = emulator
        self.base = emulator.base_url
        self.crm_server = crm_server
        self.crm = RestCrmConnector(crm_server.base_url, "k", sleep=lambda _s: None)
        grant = requests.post(
            self.base + "/__emulator/grants",
            json={"email": ACCOUNT, "client_id": "cid", "scopes": list(GRANT_SCOPES.values())},
            timeout=10,
        ).json()
        self.refresh_token = grant["refresh_token"]
        self.store = MemoryStore()
        settings = SyncSettings(contact_options=ContactOptions(default_region="DE"))
        self.conn = Connection(
            id="conn-demo",
            crm_user_id=crm_user,
            google_subject="1",
            google_email=ACCOUNT,
            scopes=[GRANT_SCOPES[k] for k in GRANT_SCOPES],
            settings=settings,
            created_at=datetime.now(UTC),
        )
        self.deps = RunDeps(
            self.store, self.crm, GoogleAccess(Endpoint(self.base), "cid", "secret"), lambda: datetime.now(UTC)
        )

    def sync(self) -> dict[str, Any]:
        return sync_connection(self.conn, self.refresh_token, self.deps).as_dict()

    def google_contacts(self) -> list[dict[str, Any]]:
        return requests.get(self.base + "/__emulator/dump", params={"account": ACCOUNT}, timeout=10).json()["people"][
            "connections"
        ]

    def stats(self) -> dict[str, int]:
        body = requests.get(self.base + "/__emulator/stats", params={"account": ACCOUNT}, timeout=10).json()
        return body["accounts"].get(ACCOUNT, {}).get("calls", {})


@pytest.fixture
def stack(emulator: Any, tmp_path: Path) -> Iterator[Stack]:
    db = tmp_path / "crm.sqlite"
    summary = seed(db, contacts=40, users=2)
    server = CrmServer(db, api_key="k").start()
    user = server.store.user_by_email("user1@crm.example")
    assert user is not None, summary
    yield Stack(emulator, server, user.id)
    server.stop()


def test_first_sync_then_quiet_then_edits_both_ways(stack: Stack) -> None:
    first = stack.sync()
    contacts = first["kinds"]["contacts"]
    assert contacts["complete"], first
    created = contacts["writes"].get("google.create", 0)
    assert created > 0
    in_group = stack.google_contacts()
    assert len(in_group) == created
    # Every Google contact carries its CRM id (the idempotent-create hint).
    assert all(any(d.get("key") == "crmsync.crm_id" for d in p.get("clientData", [])) for p in in_group)

    second = stack.sync()  # our creates echo back once
    assert second["kinds"]["contacts"]["writes"] == {}
    before = dict(stack.stats())
    third = stack.sync()
    assert third["kinds"]["contacts"]["writes"] == {}
    after = stack.stats()
    google_calls = {k: after.get(k, 0) - before.get(k, 0) for k in after if after.get(k, 0) != before.get(k, 0)}
    # A quiet sync: exactly one Google request per kind.
    assert google_calls == {"people.people.connections.list": 1, "calendar.events.list": 1, "tasks.tasks.list": 1}
    assert third["api_calls"].get("crm.changes") == 3  # one CRM change-feed request per kind

    # A CRM edit reaches Google, a Google edit reaches the CRM.
    person = stack.google_contacts()[0]
    crm_id = next(d["value"] for d in person["clientData"] if d["key"] == "crmsync.crm_id")
    record = stack.crm.get("contacts", crm_id, on_behalf_of=stack.conn.crm_user_id)
    stack.crm.update("contacts", crm_id, {"title": "Chief Sync Officer"}, record.version)
    other = stack.google_contacts()[1]
    requests.patch  # noqa: B018  (edits below go through the real People API)
    from tests.support.google import credentials, service

    people = service("people", stack.base, credentials(stack.emulator.state, ACCOUNT))
    people.people().updateContact(
        resourceName=other["resourceName"],
        updatePersonFields="biographies",
        body={"etag": other["etag"], "biographies": [{"value": "met at the fair", "contentType": "TEXT_PLAIN"}]},
    ).execute()
    edits = stack.sync()["kinds"]["contacts"]
    assert edits["writes"] == {"google.update": 1, "crm.update": 1}
    other_crm_id = next(d["value"] for d in other["clientData"] if d["key"] == "crmsync.crm_id")
    assert stack.crm.get("contacts", other_crm_id, on_behalf_of=stack.conn.crm_user_id).notes == "met at the fair"
    updated = next(p for p in stack.google_contacts() if p["resourceName"] == person["resourceName"])
    assert updated["organizations"][0]["title"] == "Chief Sync Officer"


def test_cli_runs_one_sync_and_prints_a_summary(stack: Stack, tmp_path: Path) -> None:
    import json
    import os
    import subprocess
    import sys

    env = {
        **os.environ,
        "CRMSYNC_REFRESH_TOKEN": stack.refresh_token,
        "CRMSYNC_OAUTH_CLIENT_ID": "cid",
        "CRMSYNC_OAUTH_CLIENT_SECRET": "secret",
        "CRMSYNC_CRM_API_KEY": "k",
    }
    env.pop("FIRESTORE_EMULATOR_HOST", None)
    args = [
        sys.executable,
        "-m",
        "crmsync",
        "sync",
        "--state",
        str(tmp_path / "cli-state.sqlite"),
        "--crm-url",
        stack.crm_server.base_url,
        "--crm-user",
        stack.conn.crm_user_id,
        "--google-base-url",
        stack.base,
        "--region",
        "DE",
    ]
    out = subprocess.run([*args, "--json"], env=env, capture_output=True, text=True, timeout=120, check=True)
    summary = json.loads(out.stdout)
    assert summary["complete"] and summary["kinds"]["contacts"]["writes"].get("google.create", 0) > 0
    table = subprocess.run(args, env=env, capture_output=True, text=True, timeout=120, check=True)
    assert "crmsync run" in table.stdout and "Contacts" in table.stdout
    bad = subprocess.run(
        [*args[:-4]], env={**env, "CRMSYNC_REFRESH_TOKEN": ""}, capture_output=True, text=True, timeout=60
    )
    assert bad.returncode == 2 and "missing" in bad.stdout


def _crm_id(person: dict[str, Any]) -> str:
    return next(d["value"] for d in person.get("clientData", []) if d["key"] == "crmsync.crm_id")


def test_realistic_google_late_shuffled_writes_short_pages_still_converge(stack: Stack) -> None:
    """The emulator's realistic profile (People writes reach sync listings minutes late and
    shuffled, short and empty pages, sequential writes): our own creates and updates echo back
    late, after later edits, and are never copied back or duplicated; every edit arrives."""
    from infra.google_emulator.realism import configure
    from tests.support.google import credentials, service

    configure(stack.emulator.state, {"profile": "realistic"})
    clock = stack.emulator.state.clock

    def later(seconds: float) -> None:
        clock.advance(timedelta(seconds=seconds))

    first = stack.sync()["kinds"]["contacts"]
    assert first["complete"] and first["writes"].get("google.create", 0) > 0
    people = service("people", stack.base, credentials(stack.emulator.state, ACCOUNT))
    conns = people.people().connections()
    req, listed = conns.list(resourceName="people/me", personFields="names", pageSize=1000), 0
    while req is not None:  # pages may be short or empty
        page = req.execute()
        listed += len(page.get("connections", []))
        req = conns.list_next(req, page)
    assert listed < first["writes"]["google.create"]  # our creates have not all reached listings yet
    for step in (40, 40, 40, 200):  # the creates echo back over several runs, in shuffled order
        later(step)
        assert stack.sync()["kinds"]["contacts"]["writes"] == {}
    google = stack.google_contacts()
    assert len(google) == first["writes"]["google.create"] and len({_crm_id(p) for p in google}) == len(google)

    # A CRM edit goes to Google; the user edits the same contact in Google right after, before our
    # write has propagated: our write echoes late (or never, overtaken), the user's edit arrives.
    person = google[0]
    user = stack.conn.crm_user_id
    record = stack.crm.get("contacts", _crm_id(person), on_behalf_of=user)
    stack.crm.update("contacts", _crm_id(person), {"title": "Chief Sync Officer"}, record.version)
    assert stack.sync()["kinds"]["contacts"]["writes"] == {"google.update": 1}
    now = people.people().get(resourceName=person["resourceName"], personFields="biographies").execute()
    body = {"etag": now["etag"], "biographies": [{"value": "met at the fair", "contentType": "TEXT_PLAIN"}]}
    people.people().updateContact(
        resourceName=person["resourceName"], updatePersonFields="biographies", body=body
    ).execute()
    writes: dict[str, int] = {}
    for step in (30, 30, 30, 200, 200):
        later(step)
        for kind, n in stack.sync()["kinds"]["contacts"]["writes"].items():
            writes[kind] = writes.get(kind, 0) + n
    assert writes == {"crm.update": 1}  # the user's edit, once; our own write never came back as an edit
    crm_now = stack.crm.get("contacts", _crm_id(person), on_behalf_of=user)
    assert crm_now.notes == "met at the fair" and crm_now.title == "Chief Sync Officer"
    final = next(p for p in stack.google_contacts() if p["resourceName"] == person["resourceName"])
    assert final["organizations"][0]["title"] == "Chief Sync Officer"
    assert len(stack.google_contacts()) == len(google)  # no duplicates


def test_a_contact_too_large_for_google_is_skipped_with_a_plain_reason_and_the_run_goes_on(stack: Stack) -> None:
    # Google's per-contact size (not published; the emulator assumes 128 KiB) set low here.
    stack.emulator.state.extras["people.max_contact_bytes"] = 40_000  # the seed's 30,000-character notes fit
    feed = stack.crm.changes("contacts", None, on_behalf_of=stack.conn.crm_user_id)
    big = next(c.record for c in feed.items if c.record is not None)
    stack.crm.update("contacts", big.id, {"notes": "A long history. " * 3000}, big.version)
    first = stack.sync()
    contacts = first["kinds"]["contacts"]
    assert contacts["writes"].get("google.create", 0) == len(stack.google_contacts()) > 0
    [error] = contacts["errors"]
    assert big.id in error and "refused this contact as too large" in error and "shorten its notes" in error
    assert first["kinds"]["events"]["complete"] and first["kinds"]["tasks"]["complete"]
    # Shortened in the CRM, it is created by the next run.
    now = stack.crm.get("contacts", big.id, on_behalf_of=stack.conn.crm_user_id)
    stack.crm.update("contacts", big.id, {"notes": "A short history."}, now.version)
    second = stack.sync()["kinds"]["contacts"]
    assert second["errors"] == [] and second["writes"].get("google.create") == 1
