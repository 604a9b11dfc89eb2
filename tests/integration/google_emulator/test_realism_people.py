"""Realistic People behaviour through the unmodified google-api-python-client: writes reach sync
listings and search late and shuffled (per account), and listings return short and empty pages.

Google's text followed:
- people.connections.list, https://developers.google.com/people/api/rest/v1/people.connections/list
  (same text in the client libraries' reference, e.g. googleapis.dev/dotnet/Google.Apis.PeopleService.v1
  PeopleResource.ConnectionsResource.List): "Writes may have a propagation delay of several minutes
  for sync requests. Incremental syncs are not intended for read-after-write use cases."
- people.searchContacts, https://developers.google.com/people/api/rest/v1/people/searchContacts:
  search serves from a lazily updated cache (a warm-up request first).
- Paging, https://developers.google.com/workspace/calendar/api/guides/pagination: "maxResults doesn't
  guarantee the number of results on one page. A non-empty nextPageToken field in the response
  indicates incomplete results" (the People reference: "If this field is omitted, there are no
  subsequent pages").
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from infra.google_emulator.realism import configure
from tests.integration.google_emulator.people_helpers import ME, people, person

pytestmark = pytest.mark.integration
OWNER = "owner@example.com"
FIELDS = "names,biographies"


def _freeze(emulator: Any) -> None:
    emulator.state.clock.set(datetime(2026, 12, 1, 9, tzinfo=UTC), frozen=True)


def _advance(emulator: Any, seconds: float) -> None:
    emulator.state.clock.advance(timedelta(seconds=seconds))


def _pages(svc: Any, **params: Any) -> tuple[list[list[str]], dict[str, Any]]:
    """Every page of connections.list as lists of resource names, and the last response."""
    pages: list[list[str]] = []
    token = None
    while True:
        resp = svc.people().connections().list(resourceName=ME, pageToken=token, **params).execute()
        pages.append([p["resourceName"] for p in resp.get("connections", [])])
        token = resp.get("nextPageToken")
        if not token:
            return pages, resp


def _listed(svc: Any, **params: Any) -> tuple[list[str], dict[str, Any]]:
    pages, last = _pages(svc, **params)
    return [n for page in pages for n in page], last


def test_writes_reach_sync_listings_late_and_shuffled_but_gets_at_once(emulator: Any) -> None:
    _freeze(emulator)
    configure(emulator.state, {"account": OWNER, "people_propagation_seconds": 120})
    svc = people(emulator)
    _, first = _listed(svc, personFields=FIELDS, requestSyncToken=True)
    token = first["nextSyncToken"]
    made = [svc.people().createContact(body=person(f"P{i:02d}")).execute()["resourceName"] for i in range(20)]
    # Read-after-write holds for reads by id ...
    assert svc.people().get(resourceName=made[0], personFields="names").execute()["resourceName"] == made[0]
    # ... but not for sync listings: nothing has propagated yet.
    names, resp = _listed(svc, personFields=FIELDS, syncToken=token, requestSyncToken=True)
    assert names == []
    token = resp["nextSyncToken"]
    _advance(emulator, 60)
    early, resp = _listed(svc, personFields=FIELDS, syncToken=token, requestSyncToken=True)
    assert 0 < len(early) < 20  # some arrived, some are still on their way
    _advance(emulator, 61)
    late, _ = _listed(svc, personFields=FIELDS, syncToken=resp["nextSyncToken"], requestSyncToken=True)
    assert sorted(early + late) == sorted(made)  # every write arrives exactly once ...
    assert early + late != made  # ... in an order other than the order of the writes
    full, _ = _listed(svc, personFields=FIELDS)
    assert sorted(full) == sorted(made)


def test_a_contact_never_goes_back_to_an_older_version(emulator: Any) -> None:
    _freeze(emulator)
    configure(emulator.state, {"account": OWNER, "people_propagation_seconds": 300})
    svc = people(emulator)
    made = svc.people().createContact(body=person("Anna")).execute()
    current = made
    for text in ("one", "two", "three", "four", "five"):
        body = {"etag": current["etag"], "biographies": [{"value": text}]}
        current = (
            svc.people()
            .updateContact(resourceName=made["resourceName"], updatePersonFields="biographies", body=body)
            .execute()
        )
        _advance(emulator, 1)
    seen = []
    for _ in range(40):
        _advance(emulator, 10)
        resp = svc.people().connections().list(resourceName=ME, personFields=FIELDS).execute()
        bios = [c.get("biographies", [{}])[0].get("value") for c in resp.get("connections", [])]
        seen.extend(b for b in bios if b is not None)
    order = ["one", "two", "three", "four", "five"]
    assert seen, "the contact never propagated"
    assert [order.index(b) for b in seen] == sorted(order.index(b) for b in seen)  # never backwards
    assert seen[-1] == "five"  # and the last write wins once everything propagated
    got = svc.people().get(resourceName=made["resourceName"], personFields="names").execute()
    assert got["etag"] == current["etag"]


def test_search_serves_from_the_lagging_cache(emulator: Any) -> None:
    _freeze(emulator)
    configure(emulator.state, {"account": OWNER, "people_propagation_seconds": 60})
    svc = people(emulator)
    svc.people().searchContacts(query="", readMask="names").execute()  # the warm-up request
    svc.people().createContact(body=person("Zacharias")).execute()
    assert svc.people().searchContacts(query="Zach", readMask="names").execute() == {}
    _advance(emulator, 61)
    found = svc.people().searchContacts(query="Zach", readMask="names").execute()
    assert [r["person"]["names"][0]["givenName"] for r in found["results"]] == ["Zacharias"]


def test_propagation_is_per_account_and_switchable_over_the_control_api(emulator: Any) -> None:
    _freeze(emulator)
    base = emulator.base_url + "/__emulator/realism"
    body = requests.post(base, json={"account": "slow@example.com", "people_propagation_seconds": 90}, timeout=5)
    assert body.status_code == 200
    assert body.json()["accounts"]["slow@example.com"]["people_propagation_seconds"] == 90
    assert body.json()["default"]["people_propagation_seconds"] == 0
    assert requests.post(base, json={"people_propagation_seconds": -1}, timeout=5).status_code == 400
    assert requests.post(base, json={"profile": "nonsense"}, timeout=5).status_code == 400
    assert requests.post(base, json={"colour": "red"}, timeout=5).status_code == 400
    slow, quick = people(emulator, "slow@example.com"), people(emulator, "quick@example.com")
    for svc in (slow, quick):
        svc.people().createContact(body=person("Ben")).execute()
    assert _listed(slow, personFields="names")[0] == []
    assert len(_listed(quick, personFields="names")[0]) == 1


def test_switching_propagation_on_expires_earlier_sync_tokens(emulator: Any) -> None:
    svc = people(emulator)
    svc.people().createContact(body=person("Cleo")).execute()
    _, resp = _listed(svc, personFields="names", requestSyncToken=True)
    configure(emulator.state, {"account": OWNER, "people_propagation_seconds": 30})
    from tests.integration.google_emulator.people_helpers import error_of

    status, err = error_of(
        svc.people().connections().list(resourceName=ME, personFields="names", syncToken=resp["nextSyncToken"])
    )
    assert (status, err["details"][0]["reason"]) == (400, "EXPIRED_SYNC_TOKEN")


@pytest.mark.parametrize("order", ["LAST_MODIFIED_ASCENDING", "FIRST_NAME_ASCENDING", "LAST_MODIFIED_DESCENDING"])
def test_short_and_empty_pages_still_list_everything_once(emulator: Any, order: str) -> None:
    configure(emulator.state, {"short_pages": True})
    svc = people(emulator)
    made = [svc.people().createContact(body=person(f"P{i:02d}")).execute()["resourceName"] for i in range(23)]
    pages, last = _pages(svc, personFields="names", pageSize=7, sortOrder=order, requestSyncToken=True)
    assert pages[0] == []  # the first page is empty, with a nextPageToken
    assert any(page == [] for page in pages[1:-1]) and len(pages) > 4
    assert all(len(page) <= 7 for page in pages)
    assert sorted(n for page in pages for n in page) == sorted(made)
    changed = svc.people().createContact(body=person("Late")).execute()["resourceName"]
    params = {"personFields": "names", "pageSize": 7, "sortOrder": order, "requestSyncToken": True}
    again, _ = _pages(svc, syncToken=last["nextSyncToken"], **params)
    assert [n for page in again for n in page] == [changed]


def test_short_pages_of_contact_groups(emulator: Any) -> None:
    configure(emulator.state, {"short_pages": True})
    svc = people(emulator)
    for i in range(5):
        svc.contactGroups().create(body={"contactGroup": {"name": f"G{i}"}}).execute()
    names, token, sizes = [], None, []
    while True:
        resp = svc.contactGroups().list(pageSize=3, pageToken=token).execute()
        sizes.append(len(resp.get("contactGroups", [])))
        names += [g["name"] for g in resp.get("contactGroups", [])]
        token = resp.get("nextPageToken")
        if not token:
            break
    assert sizes[0] == 0 and max(sizes) <= 3
    assert sorted(n for n in names if n.startswith("G")) == [f"G{i}" for i in range(5)]
