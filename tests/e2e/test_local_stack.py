"""The whole local stack in a real browser: `python -m infra.stack` (Firestore emulator, Google
emulator, reference CRM, web/fanout/worker under functions-framework, local queue, scheduler),
then Chromium: connect -> Allow -> settings -> Sync now -> the preview -> Start syncing -> a CRM edit and a Google edit both reach
the other side; the structured logs of the run contain no secret."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from crmsync.services.sync_now import SLOT_SECONDS
from tests.e2e.local_stack import local_stack, wait_for

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("CRMSYNC_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ACCOUNT = "user1@crm.example"  # the demo CRM user's own e-mail: the default rule wants the same address


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    with local_stack(tmp_path_factory.mktemp("stack"), "--skip-demo") as state:
        yield state


def _tree_cmdlines(root: int) -> list[str]:
    """The command lines of the stack and every process under it (what `ps` shows any local user)."""
    parents: dict[int, int] = {}
    for proc in Path("/proc").iterdir():
        try:
            parents[int(proc.name)] = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue  # gone, or not a process directory
    tree, grew = {root}, True
    while grew:
        more = {pid for pid, parent in parents.items() if parent in tree} - tree
        tree |= more
        grew = bool(more)
    out = []
    for pid in tree:
        try:
            out.append((Path("/proc") / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode())
        except OSError:
            continue
    return out


def test_state_file_is_private_and_no_key_is_on_a_command_line(stack: dict[str, Any]) -> None:
    assert stat.S_IMODE(os.stat(stack["_state_file"]).st_mode) == 0o600
    cmdlines = _tree_cmdlines(stack["_session"])
    assert len(cmdlines) >= 4, cmdlines  # the stack, the emulators, the CRM and the functions
    for name, key in stack["keys"].items():
        leaking = [c for c in cmdlines if key in c]
        assert not leaking, f"the {name} key is on a command line: {leaking}"


def _wait(predicate: Any, what: str, timeout: float = 120) -> Any:
    return wait_for(predicate, what, timeout)


def test_connect_sync_now_and_edits_both_ways(stack: dict[str, Any]) -> None:
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: run scripts/ensure_chromium.sh (apt-get install -y chromium) as root")
    from datetime import UTC, datetime, timedelta

    from playwright.sync_api import sync_playwright

    from crmsync.crm.rest import RestCrmConnector
    from crmsync.security.links import mint_connect_token
    from crmsync.store.firestore import FirestoreStore
    from infra.firestore_emulator import new_firestore_client

    keys, web, google, user_id = stack["keys"], stack["web"], stack["google"], stack["crm_user_id"]
    link = mint_connect_token(keys["link_key"].encode(), user_id, timedelta(minutes=15), datetime.now(UTC))
    store = FirestoreStore(new_firestore_client(stack["firestore"], "crmsync-local"))
    crm = RestCrmConnector(stack["crm"], keys["crm_key"])

    def runs() -> list[dict[str, Any]]:
        conn = store.find_connection_by_crm_user(user_id)
        return store.recent_runs(conn.id, 50) if conn else []

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page()
        page.goto(f"{web}/connect?t={link}")
        assert page.inner_text("#confirm-email") == ACCOUNT
        page.click("#confirm-continue")
        page.wait_for_selector("#allow")
        page.fill("#email", ACCOUNT)
        page.click("#allow")
        page.wait_for_url(f"{web}/settings**")
        assert page.inner_text("#google-email") == ACCOUNT
        page.click("#sync-now")
        page.wait_for_load_state()
        # A new user's first run of each kind is a preview that writes nothing, until they start it.
        previews = _wait(
            lambda: [r for r in runs() if (r.get("kinds") or {}).get("contacts", {}).get("awaiting_start")],
            "the preview of the first sync",
        )
        assert all("writes" not in r["kinds"]["contacts"] for r in previews)
        page.goto(f"{web}/settings")
        for kind in ("contacts", "events", "tasks"):
            if page.query_selector(f"#preview-{kind}-start") is not None:
                page.click(f"#preview-{kind}-start")
                page.wait_for_url(f"{web}/settings**")
        first = _wait(
            lambda: [r for r in runs() if (r.get("kinds") or {}).get("contacts", {}).get("writes")], "the first sync"
        )
        assert any(r["kinds"]["contacts"]["writes"].get("google.create", 0) > 0 for r in first)

        # A CRM edit and a Google edit.
        dump = requests.get(google + "/__emulator/dump", params={"account": ACCOUNT}, timeout=30).json()
        people = dump["people"]["connections"]
        mine = [p for p in people if any(d.get("key") == "crmsync.crm_id" for d in p.get("clientData", []))]
        crm_edited, google_edited = mine[0], mine[1]
        crm_id = next(d["value"] for d in crm_edited["clientData"] if d["key"] == "crmsync.crm_id")
        record = crm.get("contacts", crm_id, on_behalf_of=user_id)
        crm.update("contacts", crm_id, {"title": "Edited in the CRM"}, record.version, on_behalf_of=user_id)
        token = requests.post(
            google + "/__emulator/tokens",
            json={"email": ACCOUNT, "scopes": ["https://www.googleapis.com/auth/contacts"]},
            timeout=30,
        ).json()["access_token"]
        resp = requests.patch(
            f"{google}/v1/{google_edited['resourceName']}:updateContact",
            params={"updatePersonFields": "biographies"},
            json={
                "etag": google_edited["etag"],
                "biographies": [{"value": "Edited in Google", "contentType": "TEXT_PLAIN"}],
            },
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )
        resp.raise_for_status()
        before = len(runs())
        time.sleep(SLOT_SECONDS)  # a click in the same 10-second slot is the same "Sync now" task
        page.goto(f"{web}/settings")
        page.click("#sync-now")
        page.wait_for_load_state()
        _wait(lambda: len(runs()) > before, "the sync after the edits")
        google_crm_id = next(d["value"] for d in google_edited["clientData"] if d["key"] == "crmsync.crm_id")

        def both_arrived() -> bool:
            people = requests.get(google + "/__emulator/dump", params={"account": ACCOUNT}, timeout=30).json()[
                "people"
            ]["connections"]
            person = next(p for p in people if p["resourceName"] == crm_edited["resourceName"])
            in_google = any(o.get("title") == "Edited in the CRM" for o in person.get("organizations", []))
            in_crm = crm.get("contacts", google_crm_id, on_behalf_of=user_id).notes == "Edited in Google"
            return in_google and in_crm

        _wait(both_arrived, "both edits on the other side")
        page.goto(f"{web}/settings")
        assert "Connected" in page.inner_text("#status")
        browser.close()

    # No secret in any structured log line of the run.
    logs = "".join(p.read_text(errors="replace") for p in Path(stack["local"]).glob("function-*.log"))
    assert '"severity"' in logs
    vault = (
        json.loads((Path(stack["local"]) / "vault.json").read_text())
        if (Path(stack["local"]) / "vault.json").exists()
        else {}
    )
    secrets_used = [link, *keys.values(), *[v for v in vault.values() if isinstance(v, str) and len(v) > 12]]
    for secret in secrets_used:
        assert secret not in logs, "a secret reached the logs"


def test_the_printed_link_the_stack_file_and_the_mint_script_lead_to_google_consent(stack: dict[str, Any]) -> None:
    """The newcomer path: the link `make run` prints is one whole line (140 columns, no terminal);
    scripts/mint_connect_link.py finds the running stack and the user by e-mail; /__emulator/ is a page."""
    from urllib.parse import urlsplit

    from playwright.sync_api import sync_playwright

    local = Path(stack["local"])
    printed = _wait(
        lambda: [line.strip() for line in (local / "stack.out").read_text().splitlines() if "/connect?t=" in line],
        "the printed connect link",
        timeout=60,
    )
    assert all(line.startswith((stack["web"] + "/connect?t=", stack["web"] + "/settings?t=")) for line in printed)
    assert all(line.count(".") >= 2 for line in printed)  # whole signed tokens
    assert json.loads((local / "stack.json").read_text())["web"] == stack["web"]
    minted = subprocess.run(
        [sys.executable, "scripts/mint_connect_link.py", "--local-dir", str(local), "--crm-user", "user1@crm.example"],
        cwd=ROOT,
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert minted.returncode == 0, minted.stderr
    assert requests.get(stack["google"] + "/__emulator/", timeout=10).status_code == 200
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        for link in (*printed, minted.stdout.strip()):
            page = browser.new_page(java_script_enabled=False)
            page.goto(link)
            assert "This link is not valid" not in page.content() and "expired" not in page.content()
            if "/connect?t=" in link:  # accepted: our confirmation page, then Google's consent
                page.click("#confirm-continue")
                assert urlsplit(page.url).path == "/o/oauth2/auth"
                assert page.locator("#allow").count() == 1
            page.close()
        browser.close()


def test_a_crm_edit_reaches_google_in_seconds_through_the_crms_webhook(stack: dict[str, Any]) -> None:
    """`make run` wires the reference CRM's change notifications to the web function: a CRM user's edit
    reaches Google by a push run (reason "push"), seconds later, without waiting for the poll."""
    from datetime import UTC, datetime, timedelta

    from crmsync.security.links import mint_connect_token
    from crmsync.store.firestore import FirestoreStore
    from infra.firestore_emulator import new_firestore_client
    from tests.integration.web.browserless import browser_session, confirm, consent

    keys, web, google, crm, user_id = stack["keys"], stack["web"], stack["google"], stack["crm"], stack["crm_user_id"]
    store = FirestoreStore(new_firestore_client(stack["firestore"], "crmsync-local"))
    if store.find_connection_by_crm_user(user_id) is None:  # connect (no browser needed for this one)
        link = mint_connect_token(keys["link_key"].encode(), user_id, timedelta(minutes=15), datetime.now(UTC))
        http = browser_session()
        assert consent(http, confirm(http, f"{web}/connect?t={link}"), email=ACCOUNT).status_code == 200
    conn = store.find_connection_by_crm_user(user_id)
    assert conn is not None
    _wait(lambda: (store.get_connection(conn.id).last_run or {}).get("complete"), "a first complete sync")  # type: ignore[union-attr]

    def idle() -> bool:  # no run holds the connection (a poll may still start at any time: see below)
        lease = store.get_connection(conn.id).lease  # type: ignore[union-attr]
        return lease is None or lease.expires_at <= datetime.now(UTC)

    _wait(idle, "no run in progress")
    edited_at = datetime.now(UTC)
    # The user edits a contact in the CRM (not crmsync: no crmsync User-Agent, so the CRM notifies).
    auth = {"Authorization": f"Bearer {keys['crm_key']}", "X-CRM-User": user_id}
    items = requests.get(f"{crm}/contacts/changes", params={"owner_id": user_id, "limit": 50}, headers=auth, timeout=30)
    record = next(i["record"] for i in items.json()["items"] if i.get("record"))
    title = f"Pushed {time.time():.0f}"
    started = time.monotonic()
    resp = requests.patch(
        f"{crm}/contacts/{record['id']}",
        json={"title": title},
        headers={**auth, "If-Match": f'"{record["version"]}"'},
        timeout=30,
    )
    resp.raise_for_status()

    def in_google() -> bool:
        dump = requests.get(google + "/__emulator/dump", params={"account": ACCOUNT}, timeout=30).json()
        return any(o.get("title") == title for p in dump["people"]["connections"] for o in p.get("organizations", []))

    _wait(in_google, "the CRM edit in Google", timeout=60)
    took = time.monotonic() - started

    def asked_by_the_webhook() -> list[dict[str, Any]]:
        # The notification queues a run with reason "push"; if a poll holds the connection just then (the stack
        # polls every minute), the push asks that sync to go again right after it: a "rerun". Nothing else in
        # this test asks for one, so either is the webhook's doing.
        runs = store.recent_runs(conn.id, 20)
        return [r for r in runs if r.get("reason") in ("push", "rerun") and r["started_at"] >= edited_at]

    _wait(asked_by_the_webhook, "a run asked for by the CRM's webhook", timeout=30)
    assert took < 30, f"the CRM edit took {took:.1f} s to reach Google"
