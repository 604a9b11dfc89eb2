"""Limits Google enforces, through the unmodified google-api-python-client.

Followed:
- Calendar extended properties, https://developers.google.com/workspace/calendar/api/guides/extended-properties
  ("The maximum size of a property's key is 44 characters, and properties with longer keys will be silently
  dropped. The maximum size of a property's value is 1024 characters, and properties with longer values will
  be silently truncated. An event can have up to 300 shared properties totaling up to 32kB in size").
- People: 25,000 contacts per account (public reports; configurable as ``people.max_contacts``); a per-contact
  size (no published figure or error text: 128 KiB of contact values assumed, ``people.max_contact_bytes``,
  400 INVALID_ARGUMENT; see infra/google_emulator/people_limits.py);
  ContactGroupMembership.contactGroupId is "Output only"
  (https://developers.google.com/people/api/rest/v1/people#contactgroupmembership); the system groups a
  real account lists; "mutate requests for the same user should be sent sequentially"
  (https://developers.google.com/people/v1/contacts#create_a_new_contact): with the realism setting
  ``people_sequential`` an overlapping write is refused with 429 RESOURCE_EXHAUSTED (our documented choice).
"""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
from googleapiclient.errors import HttpError

from infra.google_emulator.realism import configure
from tests.integration.google_emulator.people_helpers import error_of, people, person
from tests.integration.google_emulator.test_calendar_support import calendar_service, timed

pytestmark = pytest.mark.integration
WHEN = timed("2026-10-02T09:00:00", "2026-10-02T10:00:00", "UTC")


def test_extended_properties_keys_dropped_values_truncated_counts_and_size_refused(emulator: Any) -> None:
    svc = calendar_service(emulator)
    props = {"k" * 44: "kept", "k" * 45: "dropped", "long": "v" * 1500}
    ev = svc.events().insert(calendarId="primary", body={**WHEN, "extendedProperties": {"private": props}}).execute()
    private = ev["extendedProperties"]["private"]
    assert set(private) == {"k" * 44, "long"} and private["long"] == "v" * 1024
    assert (
        svc.events().get(calendarId="primary", eventId=ev["id"]).execute()["extendedProperties"]
        == ev["extendedProperties"]
    )
    many = {f"p{i}": "x" for i in range(301)}
    with pytest.raises(HttpError) as info:
        svc.events().insert(calendarId="primary", body={**WHEN, "extendedProperties": {"shared": many}}).execute()
    assert info.value.resp.status == 400
    # A patch adds to what is there: 299 more on top of the 2 kept pass 300 as well.
    more = {f"q{i}": "x" for i in range(299)}
    with pytest.raises(HttpError):
        svc.events().patch(
            calendarId="primary", eventId=ev["id"], body={"extendedProperties": {"private": more}}
        ).execute()
    big = {f"b{i:02d}": "y" * 1000 for i in range(40)}  # 40 kB
    with pytest.raises(HttpError) as info:
        svc.events().insert(calendarId="primary", body={**WHEN, "extendedProperties": {"private": big}}).execute()
    assert info.value.resp.status == 400


def test_contacts_per_account_are_limited(emulator: Any) -> None:
    from infra.google_emulator.people_limits import MAX_CONTACTS

    assert MAX_CONTACTS == 25_000
    emulator.state.extras["people.max_contacts"] = 3
    svc = people(emulator)
    for name in ("A", "B"):
        svc.people().createContact(body=person(name)).execute()
    batch = {"contacts": [{"contactPerson": person(n)} for n in ("C", "D")], "readMask": "names"}
    status, err = error_of(svc.people().batchCreateContacts(body=batch))
    assert (status, err["status"]) == (400, "FAILED_PRECONDITION") and "cannot hold more than 3" in err["message"]
    svc.people().createContact(body=person("C")).execute()  # nothing of the refused batch was created
    assert error_of(svc.people().createContact(body=person("D")))[0] == 400


def test_an_oversized_contact_is_refused_on_create_update_and_in_batches(emulator: Any) -> None:
    # Google publishes no per-contact size for People, nor its error text: the emulator assumes
    # 128 KiB of contact values (people_limits.MAX_CONTACT_BYTES), settable as people.max_contact_bytes.
    from infra.google_emulator.people_limits import MAX_CONTACT_BYTES

    assert MAX_CONTACT_BYTES == 128 * 1024
    svc = people(emulator)
    huge = [{"value": "x" * MAX_CONTACT_BYTES}]
    status, err = error_of(svc.people().createContact(body=person("Anna", biographies=huge)))
    assert (status, err["status"]) == (400, "INVALID_ARGUMENT") and "too large" in err["message"]
    emulator.state.extras["people.max_contact_bytes"] = 2000
    small = svc.people().createContact(body=person("Ben", biographies=[{"value": "x" * 1000}])).execute()
    # An update is measured as it would leave the contact: other fields count too.
    body = {"etag": small["etag"], "organizations": [{"name": "y" * 1000}]}
    status, err = error_of(
        svc.people().updateContact(resourceName=small["resourceName"], updatePersonFields="organizations", body=body)
    )
    assert (status, err["status"]) == (400, "INVALID_ARGUMENT") and "too large" in err["message"]
    # In a batch one oversized contact fails the whole request; nothing is written.
    batch = {
        "contacts": [{"contactPerson": person("C")}, {"contactPerson": person("D", biographies=huge)}],
        "readMask": "names",
    }
    status, err = error_of(svc.people().batchCreateContacts(body=batch))
    assert status == 400 and "contacts[1].contactPerson" in err["message"]
    update = {
        "contacts": {small["resourceName"]: body},
        "updateMask": "organizations",
        "readMask": "names",
    }
    assert error_of(svc.people().batchUpdateContacts(body=update))[0] == 400
    names = [
        p["names"][0]["givenName"]
        for p in svc.people()
        .connections()
        .list(resourceName="people/me", personFields="names")
        .execute()["connections"]
    ]
    assert sorted(names) == ["Ben"]
    emulator.state.extras["people.max_contact_bytes"] = 4000
    svc.people().updateContact(
        resourceName=small["resourceName"], updatePersonFields="organizations", body=body
    ).execute()


def test_contact_group_id_is_output_only_in_membership_writes(emulator: Any) -> None:
    svc = people(emulator)
    group = svc.contactGroups().create(body={"contactGroup": {"name": "Kunden"}}).execute()
    gid = group["resourceName"].split("/")[1]
    only_id = [{"contactGroupMembership": {"contactGroupId": gid}}]
    made = svc.people().createContact(body=person("Anna", memberships=only_id)).execute()
    groups = [m["contactGroupMembership"]["contactGroupResourceName"] for m in made["memberships"]]
    assert groups == ["contactGroups/myContacts"]  # the id alone names no group
    body = {"etag": made["etag"], "memberships": only_id}
    status, _ = error_of(
        svc.people().updateContact(resourceName=made["resourceName"], updatePersonFields="memberships", body=body)
    )
    assert status == 400  # no membership left: refused
    by_name = [{"contactGroupMembership": {"contactGroupResourceName": group["resourceName"]}}]
    ok = (
        svc.people()
        .updateContact(
            resourceName=made["resourceName"],
            updatePersonFields="memberships",
            body={"etag": made["etag"], "memberships": by_name},
        )
        .execute()
    )
    assert [m["contactGroupMembership"]["contactGroupId"] for m in ok["memberships"]] == [gid]


def test_real_accounts_system_groups_are_listed_and_closed_to_additions(emulator: Any) -> None:
    svc = people(emulator)
    listed = svc.contactGroups().list().execute()["contactGroups"]
    system = {g["resourceName"] for g in listed if g["groupType"] == "SYSTEM_CONTACT_GROUP"}
    expected = {"myContacts", "starred", "friends", "family", "coworkers", "chatBuddies", "all", "blocked"}
    assert system == {f"contactGroups/{g}" for g in expected}
    made = svc.people().createContact(body=person("Ben")).execute()
    for gid in ("chatBuddies", "all", "blocked"):
        add = {"resourceNamesToAdd": [made["resourceName"]]}
        assert error_of(svc.contactGroups().members().modify(resourceName=f"contactGroups/{gid}", body=add))[0] == 400


def test_parallel_people_writes_for_one_user_are_refused_sequential_ones_pass(emulator: Any) -> None:
    configure(emulator.state, {"people_sequential": True})
    emulator.state.extras["latency_methods"] = {"people.people.createContact": 400}
    outcomes: list[int] = []

    def create(name: str) -> None:
        svc = people(emulator)  # one client per thread (httplib2 is not thread-safe)
        try:
            svc.people().createContact(body=person(name)).execute()
            outcomes.append(200)
        except HttpError as err:
            body = json.loads(err.content)["error"]
            assert body["status"] == "RESOURCE_EXHAUSTED" and "sequentially" in body["message"]
            outcomes.append(err.resp.status)

    threads = [threading.Thread(target=create, args=(n,)) for n in ("A", "B")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == [200, 429]
    for name in ("C", "D"):  # one after the other: both pass
        create(name)
    assert sorted(outcomes) == [200, 200, 200, 429]
    other = people(emulator, "someone@example.com")  # another user's writes do not collide
    other.people().createContact(body=person("E")).execute()
