"""``python -m crmsync sync`` as a newcomer runs it: state kept in a local file between runs (a second
run is not a first sync again), ``--kinds calendar``, errors as one line of words, never a traceback."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from crmsync.cli import main
from crmsync.crm.custom_fields import REFERENCE_FIELDS
from crmsync.crm.semantics import FeedFilter
from crmsync.model.field_mapping import FieldMap, FieldMapping, Target
from crmsync.services.admin_config import AdminConfig
from crmsync.store.sqlite import SqliteStore
from infra.crm import CrmServer
from infra.crm.seed import seed

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[3]
ACCOUNT = "cli@example.com"
KEY = "cli-test-key"
STORE = "file"


@pytest.fixture
def crm(tmp_path: Path) -> Iterator[tuple[CrmServer, str]]:
    db = tmp_path / "crm.sqlite"
    seed(db, contacts=15, activities=8, tasks=5, users=2)
    server = CrmServer(db, api_key=KEY).start()
    user = server.store.user_by_email("user1@crm.example")
    assert user is not None
    yield server, user.id
    server.stop()


def _args(emulator: Any, crm: tuple[CrmServer, str], secrets: Path, *extra: str) -> list[str]:
    grant = requests.post(
        emulator.base_url + "/__emulator/grants",
        json={
            "email": ACCOUNT,
            "client_id": "crmsync-local",
            "scopes": [
                "https://www.googleapis.com/auth/contacts",
                "https://www.googleapis.com/auth/calendar",
                "https://www.googleapis.com/auth/tasks",
            ],
        },
        timeout=10,
    ).json()
    server, user_id = crm
    secrets.mkdir(exist_ok=True)
    (secrets / "crm-key").write_text(KEY + "\n")
    (secrets / "refresh-token").write_text(grant["refresh_token"])
    return [
        "sync",
        "--crm-url", server.base_url,
        "--crm-api-key-file", str(secrets / "crm-key"),
        "--crm-user", user_id,
        "--google-base-url", emulator.base_url,
        "--refresh-token-file", str(secrets / "refresh-token"),
        "--google-email", ACCOUNT,
        "--region", "DE",
        "--json",
        *extra,
    ]  # fmt: skip


def _google_contacts(emulator: Any) -> int:
    dump = requests.get(emulator.base_url + "/__emulator/dump", params={"account": ACCOUNT}, timeout=10).json()
    return len(dump["people"]["connections"])


def test_the_state_file_keeps_the_links_so_the_second_run_writes_nothing(
    emulator: Any, crm: tuple[CrmServer, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / "state.sqlite"
    args = _args(emulator, crm, tmp_path / "secrets", "--kinds", "contacts", "--state", str(state), "--store", STORE)
    assert main(args) == 0
    first = capsys.readouterr().out
    assert '"google.create"' in first
    created = _google_contacts(emulator)
    assert created > 0 and state.exists()
    assert main(args) == 0
    second = capsys.readouterr().out
    assert '"writes": {}' in second
    assert _google_contacts(emulator) == created
    # A contact deleted in Google is a delete to pass on (the link remembers it), not a CRM record to copy again.
    dump = requests.get(emulator.base_url + "/__emulator/dump", params={"account": ACCOUNT}, timeout=10).json()
    gone = dump["people"]["connections"][0]["resourceName"]
    token = requests.post(
        emulator.base_url + "/__emulator/tokens",
        json={"email": ACCOUNT, "scopes": ["https://www.googleapis.com/auth/contacts"]},
        timeout=10,
    ).json()["access_token"]
    requests.delete(
        f"{emulator.base_url}/v1/{gone}:deleteContact", headers={"Authorization": f"Bearer {token}"}, timeout=10
    ).raise_for_status()
    assert main(args) == 0
    third = capsys.readouterr().out
    assert '"crm.delete": 1' in third and '"google.create"' not in third
    assert _google_contacts(emulator) == created - 1


def test_the_default_store_is_the_local_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from crmsync.cli import DEFAULT_STATE, parser

    monkeypatch.delenv("FIRESTORE_EMULATOR_HOST", raising=False)
    monkeypatch.delenv("CRMSYNC_PROJECT", raising=False)
    monkeypatch.delenv("CRMSYNC_STATE_FILE", raising=False)
    args = parser().parse_args(["sync", "--crm-user", "u"])
    assert (args.store, args.state) == ("file", DEFAULT_STATE)


def test_kinds_calendar_is_the_events_kind(
    emulator: Any, crm: tuple[CrmServer, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = _args(emulator, crm, tmp_path / "secrets", "--kinds", "calendar", "--state", str(tmp_path / "s.sqlite"))
    assert main(args) == 0
    out = capsys.readouterr().out
    assert '"events"' in out and '"contacts"' not in out


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "crmsync", *args], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )


def test_errors_are_one_message_not_a_traceback(emulator: Any, crm: tuple[CrmServer, str], tmp_path: Path) -> None:
    base = _args(emulator, crm, tmp_path / "secrets", "--state", str(tmp_path / "s.sqlite"))
    bad_kind = _cli(*[a if a != "--json" else "--json" for a in base], "--kinds", "contacts,notes")
    assert bad_kind.returncode == 2
    assert "unknown kind 'notes'" in bad_kind.stderr and "Traceback" not in bad_kind.stderr
    (tmp_path / "wrong-key").write_text("not-the-key")
    refused = _cli(*base, "--crm-api-key-file", str(tmp_path / "wrong-key"))
    assert refused.returncode == 3, refused.stdout + refused.stderr
    assert "the CRM refused" in refused.stdout and "Traceback" not in refused.stdout + refused.stderr
    not_a_file = tmp_path / "notes.txt"
    not_a_file.write_text("not a database\n" * 200)
    bad_state = _cli(*base, "--state", str(not_a_file))
    assert bad_state.returncode == 1
    assert "not a crmsync state file" in bad_state.stderr and "Traceback" not in bad_state.stderr


def test_dry_run_says_what_a_sync_would_do_and_writes_nothing(
    emulator: Any, crm: tuple[CrmServer, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    state = tmp_path / "s.sqlite"
    args = _args(emulator, crm, tmp_path / "secrets", "--state", str(state))
    stats = emulator.base_url + "/__emulator/stats"
    assert main([*args, "--dry-run"]) == 0
    preview = json.loads(capsys.readouterr().out)
    calls = requests.get(stats, params={"account": ACCOUNT}, timeout=10).json()["accounts"][ACCOUNT]["calls"]
    assert not [m for m in calls if not m.endswith((".list", ".get")) and "List" not in m], calls  # reads only
    assert _google_contacts(emulator) == 0
    assert preview["dry_run"] is True
    would = {k: p["writes"].get("google.create", 0) for k, p in preview["kinds"].items()}
    assert would["contacts"] > 0
    # For a person: the same preview as a table, with what would be paired and by what.
    assert main([a for a in args if a != "--json"] + ["--dry-run"]) == 0
    table = capsys.readouterr().out
    assert "nothing was written" in table and "contacts created in Google" in table
    paired = [p for k in preview["kinds"].values() for p in k["paired"]]
    assert all(f"would pair {p['name'] or p['crm_id']}" in table for p in paired)
    # The real run then does what the preview said.
    assert main(args) == 0
    ran = json.loads(capsys.readouterr().out)["kinds"]
    assert {k: r["writes"].get("google.create", 0) for k, r in ran.items()} == would


def test_a_secret_on_the_command_line_is_refused_without_being_used_or_echoed(
    emulator: Any, crm: tuple[CrmServer, str], tmp_path: Path
) -> None:
    base = _args(emulator, crm, tmp_path / "secrets", "--state", str(tmp_path / "s.sqlite"))
    for flag in ("--crm-api-key", "--refresh-token", "--client-secret"):
        given = _cli(*base, flag, "s3cret-value-on-argv")
        assert given.returncode == 2, given.stdout + given.stderr
        assert f"{flag} is not taken on the command line" in given.stderr
        assert f"{flag}-file PATH" in given.stderr
        assert "s3cret-value-on-argv" not in given.stdout + given.stderr
    assert not (tmp_path / "s.sqlite").exists()  # nothing ran


def test_secrets_come_from_the_environment_or_standard_input(
    emulator: Any, crm: tuple[CrmServer, str], tmp_path: Path
) -> None:
    import os

    secrets = tmp_path / "secrets"
    args = _args(emulator, crm, secrets, "--kinds", "tasks", "--state", str(tmp_path / "s.sqlite"))
    for flag in ("--crm-api-key-file", "--refresh-token-file"):
        at = args.index(flag)
        del args[at : at + 2]
    ran = subprocess.run(
        [sys.executable, "-m", "crmsync", *args, "--refresh-token-file", "-"],
        cwd=ROOT,
        env={**os.environ, "CRMSYNC_CRM_API_KEY": KEY},
        input=(secrets / "refresh-token").read_text(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert '"tasks"' in ran.stdout


def test_the_cli_syncs_the_custom_fields_the_admin_mapped_in_its_store(
    emulator: Any, crm: tuple[CrmServer, str], tmp_path: Path
) -> None:
    state = tmp_path / "state.sqlite"
    tier = next(f for f in REFERENCE_FIELDS["contacts"] if f.name == "customer_tier")
    mapping = FieldMapping(contacts=[FieldMap(field=tier, target=Target.USER_DEFINED, key="Tier")])
    store = SqliteStore(state)
    store.put_global_config(AdminConfig(field_mapping=mapping).model_dump(mode="json"))
    args = _args(emulator, crm, tmp_path / "secrets", "--kinds", "contacts", "--state", str(state), "--store", STORE)
    assert main(args) == 0
    server, _user = crm
    tiers = {
        item["id"]: item["record"]["custom_fields"].get("customer_tier")
        for item in json.loads(server.store.changes("contacts", None, 1000, FeedFilter(), None))["items"]
        if item["record"]
    }
    dump = requests.get(emulator.base_url + "/__emulator/dump", params={"account": ACCOUNT}, timeout=10).json()
    synced = {
        next(c["value"] for c in p["clientData"] if c["key"] == "crmsync.crm_id"): {
            u["key"]: u["value"] for u in p.get("userDefined", [])
        }.get("Tier")
        for p in dump["people"]["connections"]
    }
    assert synced and any(synced.values())
    assert all(tier == tiers[crm_id] for crm_id, tier in synced.items())
