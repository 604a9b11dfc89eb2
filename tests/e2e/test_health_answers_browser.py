"""The user's answers on the settings page, in Chromium with JavaScript off, built by real runs (the
worker over the fake CRM and the Google emulator): a record left out is listed by name and leaves the
list once it syncs; "use the other value" for a conflict writes the losing value on both sides and the
conflict leaves the list; "Keep them (restore from the other side)" after a safety stop brings the
deleted records back; with previews on, the first sync waits for "Start syncing" with a preview. A screenshot of every state goes to artifacts/ (gitignored)."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from crmsync.model.kinds import Kind
from crmsync.services import admin
from infra.google_emulator.server import EmulatorServer
from tests.e2e.test_health_browser import ACCOUNT, browser, connect, google_token, shot, sync, web  # noqa: F401
from tests.integration.web.stack import Stack

pytestmark = pytest.mark.e2e


def person(base: str, given: str) -> dict[str, Any]:
    dump = requests.get(base + "/__emulator/dump", params={"account": ACCOUNT}, timeout=10).json()
    return next(p for p in dump["people"]["connections"] if (p.get("names") or [{}])[0].get("givenName") == given)


def test_names_conflict_choice_and_keep_them_in_a_browser_without_javascript(
    browser: Any,  # noqa: F811
    web: Stack,  # noqa: F811
    emulator: EmulatorServer,
) -> None:
    context = browser.new_context(java_script_enabled=False, locale="en-GB")
    page = context.new_page()
    connect(page, web)
    page.click("#advanced-contacts summary")
    page.fill("#contacts-google_group", "")  # every Google contact
    page.click("#save")
    page.wait_for_selector("#notice-saved")
    ids = [
        web.crm.create("contacts", {"given_name": f"Person{i}", "family_name": "Muster", "owner_id": "u1"}, f"k{i}").id
        for i in range(30)
    ]
    sync(web, 1)

    # A record left out is named, with its side, the reason and since when.
    base, auth = emulator.base_url, google_token(emulator.base_url)
    broken = requests.post(
        base + "/v1/people:createContact",
        json={"names": [{"givenName": "Broken", "familyName": "Mail"}], "emailAddresses": [{"value": "not-an-email"}]},
        headers=auth,
        timeout=10,
    ).json()
    # A conflict: the same field changed on both sides (the latest change, Google's, wins by default).
    p0 = person(base, "Person0")
    web.crm.update(Kind.CONTACTS, ids[0], {"title": "Chief in the CRM"}, web.crm.get(Kind.CONTACTS, ids[0]).version)
    requests.patch(
        f"{base}/v1/{p0['resourceName']}:updateContact",
        params={"updatePersonFields": "organizations"},
        json={"etag": p0["etag"], "organizations": [{"title": "Chief in Google"}]},
        headers=auth,
        timeout=10,
    ).raise_for_status()
    sync(web, 2)
    page.goto(web.base_url + "/settings")
    excluded = page.inner_text("#excluded-contacts")
    assert "Broken Mail" in excluded and broken["resourceName"] not in excluded
    assert "Google" in excluded and "is not a valid e-mail address" in excluded
    row = page.inner_text("#conflicts tbody tr")
    assert "Person0 Muster" in row and "Chief in the CRM" in row and "Chief in Google" in row
    assert page.inner_text("#conflict-1-use") == "Use the other value: Chief in the CRM"
    shot(page, "excluded-by-name")

    # "Use the other value": recorded, shown as waiting, written on both sides by the next run.
    page.click("#conflict-1-use")
    page.wait_for_selector("#notice-chosen")
    assert "The next sync writes Chief in the CRM on both sides." in page.inner_text("#conflict-1-choice")
    shot(page, "conflict-choice-pending")
    sync(web, 3)
    assert web.crm.get(Kind.CONTACTS, ids[0]).title == "Chief in the CRM"
    assert person(base, "Person0")["organizations"][0]["title"] == "Chief in the CRM"
    page.goto(web.base_url + "/settings")
    assert page.locator("#conflicts").count() == 0 and page.inner_text("#no-conflicts") == "None."
    page.click("#history summary")
    assert "Contacts: 1 conflict settled with the value you chose" in page.inner_text("#runs")
    shot(page, "conflict-choice-applied")

    # A choice made stale: the field changes again in the CRM before the next run uses it.
    p1 = person(base, "Person1")
    web.crm.update(Kind.CONTACTS, ids[1], {"title": "Boss in the CRM"}, web.crm.get(Kind.CONTACTS, ids[1]).version)
    requests.patch(
        f"{base}/v1/{p1['resourceName']}:updateContact",
        params={"updatePersonFields": "organizations"},
        json={"etag": p1["etag"], "organizations": [{"title": "Boss in Google"}]},
        headers=auth,
        timeout=10,
    ).raise_for_status()
    sync(web, 30)
    page.goto(web.base_url + "/settings")
    page.click("#conflict-1-use")
    page.wait_for_selector("#notice-chosen")
    web.crm.update(Kind.CONTACTS, ids[1], {"title": "Owner"}, web.crm.get(Kind.CONTACTS, ids[1]).version)
    sync(web, 31)
    page.goto(web.base_url + "/settings")
    assert page.inner_text("#conflict-1-choice") == "Your choice was not used: the field changed since."
    assert page.locator("#conflict-1-use").count() == 0
    assert web.crm.get(Kind.CONTACTS, ids[1]).title == "Owner"  # the newer edit stands
    shot(page, "conflict-choice-stale")

    # The user fixes the address in Google: the next run syncs the record and it leaves the list.
    fixed = person(base, "Broken")
    requests.patch(
        f"{base}/v1/{fixed['resourceName']}:updateContact",
        params={"updatePersonFields": "emailAddresses"},
        json={"etag": fixed["etag"], "emailAddresses": [{"value": "broken.mail@example.com"}]},
        headers=auth,
        timeout=10,
    ).raise_for_status()
    sync(web, 4)
    page.goto(web.base_url + "/settings")
    assert page.locator("#excluded-contacts").count() == 0
    assert "31 records in sync" in page.inner_text("#health-contacts-counts")

    # A safety stop, answered with "Keep them": the records deleted in the CRM come back from Google.
    for rid in ids[10:25]:
        web.crm.delete(Kind.CONTACTS, rid, web.crm.get(Kind.CONTACTS, rid).version)
    sync(web, 5)
    page.goto(web.base_url + "/settings")
    assert page.inner_text("#health-contacts-state") == "Stopped"
    assert page.inner_text("#stop-contacts-restore") == "Keep them (restore from the other side)"
    shot(page, "stopped-keep-or-delete")
    page.click("#stop-contacts-restore")
    page.wait_for_selector("#notice-restoring")
    assert page.is_visible("#stop-contacts-restoring") and page.locator("#stop-contacts-delete").count() == 0
    status = context.request.get(web.base_url + "/status", headers={"Accept": "application/json"}).json()
    assert status["health"]["contacts"]["stop_answer"] == "restore"
    shot(page, "stop-restoring")
    sync(web, 6)
    page.goto(web.base_url + "/settings")
    assert page.inner_text("#health-contacts-state") == "In sync"
    assert page.locator("#stop-contacts").count() == 0
    page.click("#history summary")
    runs = page.inner_text("#runs")
    assert "15 contacts created in the CRM" in runs
    assert "Contacts: 15 records kept as you chose (restored from the other side)" in runs
    shot(page, "after-keep")
    names = sorted(
        c.record.given_name for c in web.crm.changes("contacts", None, on_behalf_of="u1").items if c.record is not None
    )
    assert names == sorted([f"Person{i}" for i in range(30)] + ["Broken"])  # all back, none twice
    sync(web, 7)
    page.goto(web.base_url + "/settings")
    assert "31 records in sync" in page.inner_text("#health-contacts-counts")
    context.close()


def test_the_preview_before_the_first_sync_in_a_browser_without_javascript(
    browser: Any,  # noqa: F811
    web: Stack,  # noqa: F811
    emulator: EmulatorServer,
) -> None:
    """With previews on, the first sync of each kind waits: the page shows what it would create on each
    side, which records it would pair and by what, which it leaves alone, and writes nothing until the
    user presses "Start syncing"; in German too."""
    admin.put_config(web.app, {"preview_first_sync": True})
    base, auth = emulator.base_url, google_token(emulator.base_url)
    web.crm.create(
        "contacts",
        {
            "given_name": "Anna",
            "family_name": "Muster",
            "owner_id": "u1",
            "emails": [{"type": "work", "value": "anna@x.example"}],
        },
        "k-anna",
    )
    web.crm.create("contacts", {"given_name": "Ben", "family_name": "Muster", "owner_id": "u1"}, "k-ben")
    for given, email in (("Anna", "anna@x.example"), ("Cleo", "cleo@x.example")):
        requests.post(
            base + "/v1/people:createContact",
            json={"names": [{"givenName": given, "familyName": "Muster"}], "emailAddresses": [{"value": email}]},
            headers=auth,
            timeout=10,
        ).raise_for_status()
    context = browser.new_context(java_script_enabled=False, locale="en-GB")
    page = context.new_page()
    connect(page, web)
    assert "nothing is written until you start it" in page.inner_text("#notice-connected")
    page.click("#advanced-contacts summary")
    page.fill("#contacts-google_group", "")  # every Google contact
    page.click("#save")
    page.wait_for_selector("#notice-saved")
    sync(web, 1)
    page.goto(web.base_url + "/settings")
    assert page.inner_text("#health-contacts-state") == "Waiting for you to start"
    assert page.get_attribute("#health-contacts-preview", "href") == "#preview-contacts"
    assert "Last successful sync" not in page.inner_text("#health-contacts")  # a preview is no sync
    writes = page.inner_text("#preview-contacts-writes")
    assert "Google\tcreated\t1" in writes and "CRM\tcreated\t1" in writes, writes
    paired = page.inner_text("#preview-contacts")
    assert "1 record would be paired" in paired and "Anna Muster — by e-mail" in paired
    assert page.inner_text("#preview-contacts-start") == "Start syncing contacts"
    status = context.request.get(web.base_url + "/status", headers={"Accept": "application/json"}).json()
    assert status["health"]["contacts"]["state"] == "preview" and "contacts" in status["needs_you"]
    assert len(web.crm.changes("contacts", None, on_behalf_of="u1").items) == 2  # nothing written
    page.click("#history summary")
    assert "Contacts: previewed, nothing written; waiting for you to start it" in page.inner_text("#runs")
    shot(page, "preview")

    german = browser.new_context(java_script_enabled=False, locale="de-DE")
    de = german.new_page()
    de.goto(web.settings_link("u1"))
    de.wait_for_selector("#preview-contacts")
    assert de.inner_text("#health-contacts-state") == "Wartet auf Ihren Start"
    assert "Anna Muster — über E-Mail" in de.inner_text("#preview-contacts")
    assert de.inner_text("#preview-contacts-start") == "Kontakt-Synchronisierung starten"
    shot(de, "preview-de")
    german.close()

    page.click("#preview-contacts-start")
    page.wait_for_selector("#notice-started")
    sync(web, 2)
    page.goto(web.base_url + "/settings")
    assert page.inner_text("#health-contacts-state") == "In sync"
    assert page.locator("#preview-contacts").count() == 0
    assert "3 records in sync" in page.inner_text("#health-contacts-counts")
    shot(page, "preview-started")
    context.close()
