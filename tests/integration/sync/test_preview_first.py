"""Preview before the first sync (the administrator's rule ``preview_first_sync``), through the whole
run service over the Google emulator and the CRM fake: a kind never synced is previewed, not synced —
what would be created on each side, which records would be paired and by what, which are left
ambiguous — and nothing is written until the user starts it; after a change of its scope it waits
again. The preview is the one ``sync --dry-run`` prints (one implementation).

Before: the first sync wrote at once; the preview existed only in the CLI."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
import requests

from crmsync.model.kinds import Kind
from crmsync.model.settings import KindSettings
from crmsync.services.preview_gate import scope_of
from crmsync.services.preview_run import preview_connection
from crmsync.services.run_sync import sync_connection
from tests.integration.sync.test_target_switch import ACCOUNT, Stack

pytestmark = pytest.mark.integration


def people(s: Stack) -> list[str]:
    dump = requests.get(s.base + "/__emulator/dump", params={"account": ACCOUNT}, timeout=10).json()
    return sorted(p["names"][0]["givenName"] for p in dump["people"]["connections"])


def test_a_first_sync_waits_for_the_user_with_a_preview_and_writes_nothing(emulator: Any) -> None:
    s = Stack(emulator)
    s.change(contacts=KindSettings(google_group=None))
    s.deps = replace(s.deps, preview_first=True)
    s.crm.create(
        "contacts",
        {"given_name": "Anna", "emails": [{"type": "work", "value": "anna@x.example"}]},
        "c1",
        on_behalf_of=s.user,
    )
    s.crm.create("contacts", {"given_name": "Ben"}, "c2", on_behalf_of=s.user)
    for given, email in (("Anna", "anna@x.example"), ("Cleo", "cleo@x.example"), ("Dora", "shared@x.example")):
        s.google(
            "/v1/people:createContact", "POST", {"names": [{"givenName": given}], "emailAddresses": [{"value": email}]}
        )
    s.crm.create(
        "contacts",
        {"given_name": "Dora", "emails": [{"type": "work", "value": "shared@x.example"}]},
        "c3",
        on_behalf_of=s.user,
    )
    s.google(
        "/v1/people:createContact",
        "POST",
        {"names": [{"givenName": "Dora"}], "emailAddresses": [{"value": "shared@x.example"}]},
    )

    def run() -> dict[str, Any]:
        return dict(sync_connection(s.conn, s.token, s.deps, kinds=[Kind.CONTACTS]).as_dict()["kinds"]["contacts"])

    waiting = run()
    assert waiting["awaiting_start"] is True and "writes" not in waiting
    preview = waiting["preview"]
    assert preview == preview_connection(s.conn, s.token, s.deps, [Kind.CONTACTS])["contacts"]  # the CLI's
    assert preview["writes"]["crm.create"] == 1 and preview["writes"]["google.create"] == 1  # Cleo; Ben
    assert [(p["name"], p["by"]) for p in preview["paired"]] == [("Anna", "e-mail")]
    # Two Google "Dora"s share the CRM Dora's address: nothing tells which is hers, so none is touched.
    assert sorted((a["side"], a["name"]) for a in preview["ambiguous"]) == [
        ("crm", "Dora"),
        ("google", "Dora"),
        ("google", "Dora"),
    ]
    assert people(s) == ["Anna", "Cleo", "Dora", "Dora"] and len(s.records("contacts")) == 3  # nothing written
    assert s.links(Kind.CONTACTS) == 0
    assert run().get("awaiting_start") is True  # still waiting: the user has not started it

    # "Start syncing contacts": what services.start_kind records.
    links = s.store.connection_store(s.conn.id)
    cursor = links.cursor(Kind.CONTACTS)
    cursor.user_choices = cursor.user_choices.model_copy(update={"started": scope_of(s.conn, Kind.CONTACTS)})
    links.save_cursor(cursor)
    synced = run()
    assert "awaiting_start" not in synced
    assert synced["writes"]["crm.create"] == 1 and synced["writes"]["google.create"] == 1
    assert people(s) == ["Anna", "Ben", "Cleo", "Dora", "Dora"] and s.links(Kind.CONTACTS) == 3

    # A new scope (only CRM records tagged "vip") waits again, with its own preview.
    s.change(contacts=KindSettings(google_group=None, crm_tag="vip"))
    again = run()
    assert again["awaiting_start"] is True and "preview" in again
    assert people(s) == ["Anna", "Ben", "Cleo", "Dora", "Dora"]


def test_without_the_rule_or_for_a_kind_synced_before_nothing_waits(emulator: Any) -> None:
    s = Stack(emulator)
    s.change(contacts=KindSettings(google_group=None))
    s.crm.create("contacts", {"given_name": "Ben"}, "c2", on_behalf_of=s.user)
    first = sync_connection(s.conn, s.token, s.deps, kinds=[Kind.CONTACTS]).as_dict()["kinds"]["contacts"]
    assert first["writes"] == {"google.create": 1}
    s.deps = replace(s.deps, preview_first=True)  # the rule turned on later: synced kinds go on
    s.crm.create("contacts", {"given_name": "Cleo"}, "c3", on_behalf_of=s.user)
    later = sync_connection(s.conn, s.token, s.deps, kinds=[Kind.CONTACTS]).as_dict()["kinds"]["contacts"]
    assert "awaiting_start" not in later and later["writes"] == {"google.create": 1}
