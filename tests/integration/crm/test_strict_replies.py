"""A CRM reply that breaks the contract is an error naming the field, never an empty value.

Regression: a server answering ``phone_numbers`` instead of ``phones`` silently wiped the phones
in Google, and they were not repaired once the server was fixed."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests

from crmsync.crm.port import CrmError as CrmContractError
from crmsync.crm.rest import RestCrmConnector
from crmsync.google.client import Endpoint
from crmsync.model.kinds import Kind
from crmsync.model.settings import ContactOptions, SyncSettings
from crmsync.model.state import Connection
from crmsync.services.run_sync import GRANT_SCOPES, GoogleAccess, RunDeps, sync_connection
from crmsync.store.memory import MemoryStore
from tests.support.crm_faults import BrokenCrm, rename_field

pytestmark = pytest.mark.integration
ACCOUNT = "strict@example.com"


@pytest.fixture
def crm(tmp_path: Path) -> Iterator[BrokenCrm]:
    server = BrokenCrm(tmp_path / "crm.sqlite").start()
    yield server
    server.stop()


def _phones(emulator: Any) -> dict[str, list[str]]:
    dump = requests.get(emulator.base_url + "/__emulator/dump", params={"account": ACCOUNT}, timeout=10).json()
    out = {}
    for person in dump["people"]["connections"]:
        name = (person.get("names") or [{}])[0].get("givenName", "")
        out[name] = [p["value"] for p in person.get("phoneNumbers", [])]
    return out


def test_a_misspelt_field_stops_the_kind_instead_of_wiping_google(emulator: Any, crm: BrokenCrm) -> None:
    user = crm.store.add_user("ann@crm.example", "Ann", user_id="u1")
    _, rec, _ = crm.store.create(
        "contacts", {"given_name": "Zed", "phones": [{"type": "work", "value": "+49 30 1234567"}]}, "k1", user
    )
    grant = requests.post(
        emulator.base_url + "/__emulator/grants",
        json={"email": ACCOUNT, "client_id": "cid", "scopes": list(GRANT_SCOPES.values())},
        timeout=10,
    ).json()
    conn = Connection(
        id="conn-strict",
        crm_user_id="u1",
        google_subject="1",
        google_email=ACCOUNT,
        scopes=[GRANT_SCOPES[Kind.CONTACTS]],
        settings=SyncSettings(contact_options=ContactOptions(default_region="DE")),
        created_at=datetime.now(UTC),
    )
    connector = RestCrmConnector(crm.base_url, "k", sleep=lambda _s: None)
    deps = RunDeps(
        MemoryStore(), connector, GoogleAccess(Endpoint(emulator.base_url), "cid", "secret"), lambda: datetime.now(UTC)
    )

    def sync() -> dict[str, Any]:
        return sync_connection(conn, grant["refresh_token"], deps, kinds=[Kind.CONTACTS]).as_dict()

    assert sync()["complete"]
    assert _phones(emulator) == {"Zed": ["+49 30 1234567"]}  # as typed in the CRM

    # The server starts misspelling the field; the contact changes, so it comes through the feed.
    crm.rewrite = rename_field("phones", "phone_numbers")
    crm.store.update("contacts", rec["id"], {"title": "CEO"}, rec["version"], user)
    broken = sync()
    assert not broken["complete"]
    stopped = broken["kinds"]["contacts"]["stopped"]
    assert "phone_numbers" in stopped and "phones" in stopped, stopped
    assert _phones(emulator) == {"Zed": ["+49 30 1234567"]}  # nothing wiped
    with pytest.raises(CrmContractError) as err:
        connector.get("contacts", rec["id"])
    assert "/phone_numbers" in str(err.value) and "/phones" in str(err.value)

    # Fixed: the change that was held back goes through, phones untouched.
    crm.rewrite = None
    fixed = sync()
    assert fixed["complete"], fixed
    assert _phones(emulator) == {"Zed": ["+49 30 1234567"]}
    dump = requests.get(emulator.base_url + "/__emulator/dump", params={"account": ACCOUNT}, timeout=10).json()
    assert dump["people"]["connections"][0]["organizations"][0]["title"] == "CEO"


def test_a_broken_write_reply_stops_the_kind_and_the_next_run_converges(emulator: Any, crm: BrokenCrm) -> None:
    """The write happened but its reply breaks the contract: the kind stops; once fixed, nothing is doubled."""
    user = crm.store.add_user("ann@crm.example", "Ann", user_id="u1")
    crm.store.create(
        "contacts", {"given_name": "Zed", "phones": [{"type": "work", "value": "+49301234567"}]}, "k1", user
    )
    grant = requests.post(
        emulator.base_url + "/__emulator/grants",
        json={"email": ACCOUNT, "client_id": "cid", "scopes": list(GRANT_SCOPES.values())},
        timeout=10,
    ).json()
    conn = Connection(
        id="conn-strict-w",
        crm_user_id="u1",
        google_subject="1",
        google_email=ACCOUNT,
        scopes=[GRANT_SCOPES[Kind.CONTACTS]],
        settings=SyncSettings(contact_options=ContactOptions(default_region="DE")),
        created_at=datetime.now(UTC),
    )
    deps = RunDeps(
        MemoryStore(),
        RestCrmConnector(crm.base_url, "k", sleep=lambda _s: None),
        GoogleAccess(Endpoint(emulator.base_url), "cid", "secret"),
        lambda: datetime.now(UTC),
    )

    def sync() -> dict[str, Any]:
        return sync_connection(conn, grant["refresh_token"], deps, kinds=[Kind.CONTACTS]).as_dict()

    assert sync()["complete"]
    from tests.support.google import credentials, service

    people = service("people", emulator.base_url, credentials(emulator.state, ACCOUNT))
    person = requests.get(emulator.base_url + "/__emulator/dump", params={"account": ACCOUNT}, timeout=10).json()
    zed = person["people"]["connections"][0]
    people.people().updateContact(
        resourceName=zed["resourceName"],
        updatePersonFields="phoneNumbers",
        body={"etag": zed["etag"], "phoneNumbers": [{"value": "+49301234567"}, {"value": "+4915112345678"}]},
    ).execute()
    rename = rename_field("phones", "phone_numbers")
    crm.rewrite = lambda m, p, st, body: rename(m, p, st, body) if p.endswith("/bulk") else body
    broken = sync()
    assert "phone_numbers" in broken["kinds"]["contacts"]["stopped"], broken
    crm.rewrite = None
    fixed = sync()
    assert fixed["complete"], fixed
    again = sync()
    assert again["complete"] and again["kinds"]["contacts"]["writes"] == {}, again
    assert sorted(_phones(emulator)["Zed"]) == ["+4915112345678", "+49301234567"]
    live = [c for c in RestCrmConnector(crm.base_url, "k").changes("contacts", None).items if c.change == "upsert"]
    assert len(live) == 1 and live[0].version == 2  # written once, not repeated
    assert sorted(p.value for p in live[0].record.phones) == ["+4915112345678", "+49301234567"]  # type: ignore[union-attr]
