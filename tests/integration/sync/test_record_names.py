"""Records left out of the sync or failing are named as the user knows them (the contact's name, the
event's or task's title), with their side, the reason in words and since when — and a record that
syncs again leaves the list at once, not only after the next full listing. The whole run service
over the Google emulator and the CRM fake; the health view reads the run log it writes.

Before: the page listed such records by id (``people/c123…``), and a record fixed in Google stayed
listed as excluded until a full listing."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from crmsync.model.kinds import Kind
from crmsync.model.settings import KindSettings
from crmsync.services.health import record_issues
from crmsync.services.run_sync import sync_connection
from tests.integration.sync.test_target_switch import Stack

pytestmark = pytest.mark.integration


def test_an_excluded_google_contact_is_named_and_leaves_the_list_once_it_syncs(emulator: Any) -> None:
    s = Stack(emulator)
    s.change(contacts=KindSettings(google_group=None))
    runs: list[dict[str, Any]] = []

    def run() -> dict[str, Any]:
        summary = sync_connection(s.conn, s.token, s.deps, kinds=[Kind.CONTACTS]).as_dict()
        runs.insert(0, {**summary, "finished_at": datetime.fromisoformat(summary["finished_at"])})  # the run log
        return dict(summary["kinds"]["contacts"])

    run()
    person = s.google(
        "/v1/people:createContact",
        "POST",
        {"names": [{"givenName": "Broken", "familyName": "Mail"}], "emailAddresses": [{"value": "not-an-email"}]},
    )
    report = run()
    [issue] = record_issues(runs, Kind.CONTACTS, "notes")
    assert (issue.name, issue.side, issue.record_id) == ("Broken Mail", "google", person["resourceName"])
    assert "is not a valid e-mail address" in issue.reason and issue.since is not None
    assert report["names"] == {f"google {person['resourceName']}": "Broken Mail"}
    still = run()  # re-read as a record to retry: still excluded, still dated from its first report
    assert [(i.name, i.since) for i in record_issues(runs, Kind.CONTACTS, "notes")] == [("Broken Mail", issue.since)]
    assert "cleared" not in still

    # The user fixes the address in Google: the next (incremental) run syncs it, and it leaves the list.
    fixed = s.google(
        f"/v1/{person['resourceName']}:updateContact?updatePersonFields=emailAddresses",
        "PATCH",
        {"etag": person["etag"], "emailAddresses": [{"value": "broken.mail@example.com"}]},
    )
    assert fixed.get("resourceName") == person["resourceName"], fixed
    report = run()
    assert report["writes"] == {"crm.create": 1} and not report.get("full")
    assert report["cleared"] == [f"google {person['resourceName']}"]
    assert record_issues(runs, Kind.CONTACTS, "notes") == []
    assert [c.given_name for c in s.records("contacts").values()] == ["Broken"]
