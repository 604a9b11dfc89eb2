"""People API emulator: connections.list paging, sync tokens, tombstones and expiry."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from googleapiclient.errors import HttpError

from infra.google_emulator.people import expire_sync_tokens, seed
from tests.integration.google_emulator.people_helpers import ME, error_of, list_all, people, person

pytestmark = pytest.mark.integration


def _seed(emulator, n: int, email: str = "owner@example.com") -> list[str]:
    acct = emulator.state.account(email)
    made = seed(acct, emulator.state, {"connections": [person(f"P{i:03d}", f"F{n - i:03d}") for i in range(n)]})
    return [c["resourceName"] for c in made["connections"]]


def test_sync_token_only_on_last_page(emulator) -> None:
    names = _seed(emulator, 25)
    svc = people(emulator)
    params = {"personFields": "names", "pageSize": 10, "requestSyncToken": True}
    first = svc.people().connections().list(resourceName=ME, **params).execute()
    assert "nextSyncToken" not in first
    assert len(first["connections"]) == 10
    assert first["totalItems"] == 25
    second = svc.people().connections().list(resourceName=ME, pageToken=first["nextPageToken"], **params).execute()
    assert "nextSyncToken" not in second
    third = svc.people().connections().list(resourceName=ME, pageToken=second["nextPageToken"], **params).execute()
    assert "nextPageToken" not in third
    assert third["nextSyncToken"]
    listed = [p["resourceName"] for r in (first, second, third) for p in r["connections"]]
    assert listed == names  # LAST_MODIFIED_ASCENDING, each exactly once
    no_token = svc.people().connections().list(resourceName=ME, personFields="names").execute()
    assert "nextSyncToken" not in no_token
    assert len(no_token["connections"]) == 25  # default pageSize 100


def test_incremental_sync_returns_changes_and_tombstones(emulator) -> None:
    names = _seed(emulator, 5)
    svc = people(emulator)
    _, last = list_all(svc, personFields="names,emailAddresses", requestSyncToken=True)
    token = last["nextSyncToken"]
    empty = (
        svc.people()
        .connections()
        .list(resourceName=ME, personFields="names,emailAddresses", requestSyncToken=True, syncToken=token)
        .execute()
    )
    assert "connections" not in empty
    current = svc.people().get(resourceName=names[1], personFields="names").execute()
    svc.people().updateContact(
        resourceName=names[1], updatePersonFields="names", body={**person("Changed"), "etag": current["etag"]}
    ).execute()
    svc.people().deleteContact(resourceName=names[3]).execute()
    added = svc.people().createContact(body=person("New")).execute()
    changes, last = list_all(
        svc, personFields="names,emailAddresses", requestSyncToken=True, syncToken=empty["nextSyncToken"], pageSize=2
    )
    assert [p["resourceName"] for p in changes] == [names[1], names[3], added["resourceName"]]
    assert changes[0]["names"][0]["givenName"] == "Changed"
    tomb = changes[1]
    assert tomb["metadata"]["deleted"] is True
    assert "names" not in tomb
    assert last["nextSyncToken"]
    again = (
        svc.people()
        .connections()
        .list(
            resourceName=ME, personFields="names,emailAddresses", requestSyncToken=True, syncToken=last["nextSyncToken"]
        )
        .execute()
    )
    assert "connections" not in again
    full, _ = list_all(svc, personFields="names")
    assert names[3] not in [p["resourceName"] for p in full]  # tombstones only in sync listings


def test_params_must_match_with_page_or_sync_token(emulator) -> None:
    _seed(emulator, 5)
    svc = people(emulator)
    first = (
        svc.people()
        .connections()
        .list(resourceName=ME, personFields="names", pageSize=2, requestSyncToken=True)
        .execute()
    )
    status, err = error_of(
        svc.people()
        .connections()
        .list(
            resourceName=ME,
            personFields="names,emailAddresses",
            pageSize=2,
            requestSyncToken=True,
            pageToken=first["nextPageToken"],
        )
    )
    assert status == 400
    assert "match" in err["message"]
    status, _ = error_of(
        svc.people()
        .connections()
        .list(
            resourceName=ME, personFields="names", pageSize=3, requestSyncToken=True, pageToken=first["nextPageToken"]
        )
    )
    assert status == 400
    _, last = list_all(svc, personFields="names", requestSyncToken=True)
    token = last["nextSyncToken"]
    status, err = error_of(
        svc.people()
        .connections()
        .list(resourceName=ME, personFields="names", sortOrder="LAST_NAME_ASCENDING", syncToken=token)
    )
    assert status == 400
    assert "syncToken" in err["message"]
    status, _ = error_of(svc.people().connections().list(resourceName=ME, personFields="names", syncToken="garbage"))
    assert status == 400
    ok = svc.people().connections().list(resourceName=ME, personFields="names", syncToken=token).execute()
    assert "connections" not in ok


def _expired(svc, token: str) -> HttpError:
    with pytest.raises(HttpError) as info:
        svc.people().connections().list(
            resourceName=ME, personFields="names", requestSyncToken=True, syncToken=token
        ).execute()
    return info.value


def _assert_expired(err: HttpError) -> None:
    assert err.resp.status == 400
    body = json.loads(err.content)["error"]
    assert body["status"] == "FAILED_PRECONDITION"
    assert body["message"] == "Sync token is expired. Clear local cache and retry call without the sync token."
    info = [d for d in body["details"] if d["@type"] == "type.googleapis.com/google.rpc.ErrorInfo"]
    assert info[0]["reason"] == "EXPIRED_SYNC_TOKEN"
    assert "EXPIRED_SYNC_TOKEN" in str(err.error_details)


def test_sync_token_expires_seven_days_after_the_full_sync(emulator) -> None:
    _seed(emulator, 3)
    svc = people(emulator)
    _, last = list_all(svc, personFields="names", requestSyncToken=True)
    emulator.state.clock.advance(timedelta(days=6))
    svc = people(emulator)  # fresh access token on the moved clock
    step = (
        svc.people()
        .connections()
        .list(resourceName=ME, personFields="names", requestSyncToken=True, syncToken=last["nextSyncToken"])
        .execute()
    )
    emulator.state.clock.advance(timedelta(days=1, seconds=1))
    svc = people(emulator)
    _assert_expired(_expired(svc, step["nextSyncToken"]))  # the chain started 7 days ago
    _, fresh = list_all(svc, personFields="names", requestSyncToken=True)
    assert (
        "connections"
        not in svc.people()
        .connections()
        .list(resourceName=ME, personFields="names", requestSyncToken=True, syncToken=fresh["nextSyncToken"])
        .execute()
    )


def test_expire_sync_tokens_control(emulator) -> None:
    _seed(emulator, 3)
    svc = people(emulator)
    _, last = list_all(svc, personFields="names", requestSyncToken=True)
    groups = svc.contactGroups().list().execute()
    expire_sync_tokens(emulator.state.account("owner@example.com"), emulator.state)
    _assert_expired(_expired(svc, last["nextSyncToken"]))
    status, err = error_of(svc.contactGroups().list(syncToken=groups["nextSyncToken"]))
    assert status == 400
    assert err["details"][0]["reason"] == "EXPIRED_SYNC_TOKEN"


def test_sort_orders_and_page_size_bounds(emulator) -> None:
    _seed(emulator, 12)
    svc = people(emulator)
    first_names = [
        p["names"][0]["givenName"]
        for p in list_all(svc, personFields="names", sortOrder="FIRST_NAME_ASCENDING", pageSize=5)[0]
    ]
    assert first_names == sorted(first_names)
    assert len(first_names) == 12
    last_names = [
        p["names"][0]["familyName"]
        for p in list_all(svc, personFields="names", sortOrder="LAST_NAME_ASCENDING", pageSize=5)[0]
    ]
    assert last_names == sorted(last_names)
    assert last_names[0] == "F001"
    ascending = [p["resourceName"] for p in list_all(svc, personFields="names", pageSize=5)[0]]
    descending = [
        p["resourceName"]
        for p in list_all(svc, personFields="names", sortOrder="LAST_MODIFIED_DESCENDING", pageSize=5)[0]
    ]
    assert descending == ascending[::-1]
    assert error_of(svc.people().connections().list(resourceName=ME, personFields="names", pageSize=1001))[0] == 400
    assert (
        len(svc.people().connections().list(resourceName=ME, personFields="names", pageSize=0).execute()["connections"])
        == 12
    )


def test_group_membership_change_reported_by_sync(emulator) -> None:
    names = _seed(emulator, 3)
    svc = people(emulator)
    _, last = list_all(svc, personFields="memberships", requestSyncToken=True)
    group = svc.contactGroups().create(body={"contactGroup": {"name": "VIP"}}).execute()
    svc.contactGroups().members().modify(
        resourceName=group["resourceName"], body={"resourceNamesToAdd": [names[2]]}
    ).execute()
    changes, _ = list_all(svc, personFields="memberships", requestSyncToken=True, syncToken=last["nextSyncToken"])
    assert [p["resourceName"] for p in changes] == [names[2]]
    groups = {m["contactGroupMembership"]["contactGroupResourceName"] for m in changes[0]["memberships"]}
    assert groups == {"contactGroups/myContacts", group["resourceName"]}


def test_full_listing_of_10000_contacts_in_pages_of_1000(emulator) -> None:
    names = _seed(emulator, 10_000)
    svc = people(emulator)
    listed, last = list_all(svc, personFields="names", pageSize=1000, requestSyncToken=True)
    assert [p["resourceName"] for p in listed] == names
    assert last["totalItems"] == 10_000
    assert last["nextSyncToken"]
