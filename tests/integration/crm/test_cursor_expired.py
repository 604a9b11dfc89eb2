"""A CRM that says "this cursor is no longer valid, start over" gets a full read reconciled against
the links — not a failed run, every run, forever (regression: any 400 on /cursor failed every run)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests

from crmsync.crm.port import CrmError
from crmsync.crm.rest import RestCrmConnector
from crmsync.google.client import Endpoint
from crmsync.model.kinds import Kind
from crmsync.model.settings import ContactOptions, SyncSettings
from crmsync.model.state import Connection
from crmsync.services.run_sync import GRANT_SCOPES, GoogleAccess, RunDeps, sync_connection
from crmsync.store.memory import MemoryStore
from tests.support.crm_faults import BrokenCrm

pytestmark = pytest.mark.integration
ACCOUNT = "cursor@example.com"
EXPIRED = {
    "type": "urn:crm-sync:problem:cursor-expired",
    "title": "Gone",
    "status": 410,
    "detail": "the feed was rebuilt; read it again from the start",
}
REFUSED = {
    "type": "urn:crm-sync:problem:bad-request",
    "title": "Bad request",
    "status": 400,
    "detail": "the cursor is not one this CRM issued",
    "errors": [{"path": "/cursor", "message": "not one this CRM issued"}],
}


@pytest.fixture
def crm(tmp_path: Path) -> Iterator[BrokenCrm]:
    server = BrokenCrm(tmp_path / "crm.sqlite").start()
    yield server
    server.stop()


def _names(emulator: Any) -> list[str]:
    dump = requests.get(emulator.base_url + "/__emulator/dump", params={"account": ACCOUNT}, timeout=10).json()
    return sorted(p["names"][0]["givenName"] for p in dump["people"]["connections"])


@pytest.mark.parametrize("problem", [EXPIRED, REFUSED], ids=["cursor-expired-410", "400-on-cursor"])
def test_a_refused_cursor_means_a_full_read_reconciled_against_the_links(
    emulator: Any, crm: BrokenCrm, problem: dict[str, Any]
) -> None:
    user = crm.store.add_user("ann@crm.example", "Ann", user_id="u1")
    made = {n: crm.store.create("contacts", {"given_name": n}, f"k-{n}", user)[1] for n in ("Ada", "Bob", "Cy")}
    grant = requests.post(
        emulator.base_url + "/__emulator/grants",
        json={"email": ACCOUNT, "client_id": "cid", "scopes": list(GRANT_SCOPES.values())},
        timeout=10,
    ).json()
    conn = Connection(
        id="conn-cursor",
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
    assert _names(emulator) == ["Ada", "Bob", "Cy"]

    # While the CRM refuses every cursor: Bob is deleted, Cy renamed, Dee added.
    sent: list[str | None] = []

    def refuse_cursors(method: str, path: str, environ: dict[str, Any]) -> tuple[int, Any] | None:
        if path == "/contacts/changes":
            sent.append(environ.get("QUERY_STRING"))
            if "cursor=" in environ.get("QUERY_STRING", ""):
                return problem["status"], problem
        return None

    crm.intercept = refuse_cursors
    crm.store.delete("contacts", made["Bob"]["id"], 1, user)
    crm.store.update("contacts", made["Cy"]["id"], {"given_name": "Cyd"}, 1, user)
    crm.store.create("contacts", {"given_name": "Dee"}, "k-Dee", user)
    run = sync()
    assert run["complete"], run
    assert _names(emulator) == ["Ada", "Cyd", "Dee"]
    assert run["kinds"]["contacts"]["full"] is True
    assert any("cursor=" in (q or "") for q in sent) and any("cursor=" not in (q or "") for q in sent)

    # The CRM accepts cursors again: the cursor stored by the full read works, a quiet run follows.
    crm.intercept = None
    quiet = sync()
    assert quiet["complete"] and quiet["kinds"]["contacts"]["writes"] == {}
    assert quiet["kinds"]["contacts"]["full"] is False


def test_the_reference_crm_says_cursor_expired_for_a_cursor_from_the_future(crm: BrokenCrm) -> None:
    """A CRM restored from a backup holds fewer changes than a cursor it issued: the cursor would
    silently skip the changes made after the restore, so it is refused as expired."""
    crm.store.add_user("ann@crm.example", "Ann", user_id="u1")
    connector = RestCrmConnector(crm.base_url, "k", sleep=lambda _s: None)
    crm.store.create("contacts", {"given_name": "Ada"}, "k1", None)
    cursor = connector.changes("contacts", None).next_cursor
    crm.store.create("contacts", {"given_name": "Bob"}, "k2", None)
    later = connector.changes("contacts", cursor).next_cursor
    with crm.store.db.write() as db:  # "restore" to before Bob
        db.execute("DELETE FROM records WHERE json_extract(data, '$.given_name') = 'Bob'")
        db.execute("UPDATE meta SET value = value - 1 WHERE name = 'seq'")
    with pytest.raises(CrmError) as err:
        connector.changes("contacts", later)
    assert type(err.value).__name__ == "CrmCursorExpired"
    assert err.value.status == 410
    assert err.value.problem["type"] == "urn:crm-sync:problem:cursor-expired"
