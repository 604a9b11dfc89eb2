"""People API emulator: contact groups and group membership."""

from __future__ import annotations

import pytest

from tests.integration.google_emulator.people_helpers import error_of, people, person

pytestmark = pytest.mark.integration


def test_system_groups_and_duplicate_names(emulator) -> None:
    svc = people(emulator)
    listed = svc.contactGroups().list().execute()["contactGroups"]
    system = {g["resourceName"]: g for g in listed if g["groupType"] == "SYSTEM_CONTACT_GROUP"}
    assert {"contactGroups/myContacts", "contactGroups/starred"} <= set(system)
    assert system["contactGroups/myContacts"]["formattedName"] == "My Contacts"
    created = svc.contactGroups().create(body={"contactGroup": {"name": "CRM Kunden ✓"}}).execute()
    assert created["groupType"] == "USER_CONTACT_GROUP"
    assert created["name"] == "CRM Kunden ✓"
    status, err = error_of(svc.contactGroups().create(body={"contactGroup": {"name": "CRM Kunden ✓"}}))
    assert status == 409
    assert err["status"] == "ALREADY_EXISTS"
    assert error_of(svc.contactGroups().create(body={"contactGroup": {"name": " "}}))[0] == 400
    assert error_of(svc.contactGroups().delete(resourceName="contactGroups/myContacts"))[0] == 400


def test_members_modify_counts_and_reports(emulator) -> None:
    svc = people(emulator)
    group = svc.contactGroups().create(body={"contactGroup": {"name": "VIP"}}).execute()
    a = svc.people().createContact(body=person("A")).execute()
    b = svc.people().createContact(body=person("B")).execute()
    gone = svc.people().createContact(body=person("Gone")).execute()
    svc.people().deleteContact(resourceName=gone["resourceName"]).execute()
    resp = (
        svc.contactGroups()
        .members()
        .modify(
            resourceName=group["resourceName"],
            body={"resourceNamesToAdd": [a["resourceName"], b["resourceName"], gone["resourceName"]]},
        )
        .execute()
    )
    assert resp == {"notFoundResourceNames": [gone["resourceName"]]}
    got = svc.contactGroups().get(resourceName=group["resourceName"], maxMembers=1).execute()
    assert got["memberCount"] == 2
    assert got["memberResourceNames"] == [a["resourceName"]]
    assert "memberResourceNames" not in svc.contactGroups().get(resourceName=group["resourceName"]).execute()
    after = svc.people().get(resourceName=a["resourceName"], personFields="memberships").execute()
    assert after["etag"] != a["etag"]  # a membership change is a change of the contact
    # Removing A from myContacts leaves it in VIP; removing it from VIP too would leave no group.
    svc.contactGroups().members().modify(
        resourceName="contactGroups/myContacts", body={"resourceNamesToRemove": [a["resourceName"]]}
    ).execute()
    resp = (
        svc.contactGroups()
        .members()
        .modify(resourceName=group["resourceName"], body={"resourceNamesToRemove": [a["resourceName"]]})
        .execute()
    )
    assert resp == {"canNotRemoveLastContactGroupResourceNames": [a["resourceName"]]}
    too_many = {
        "resourceNamesToAdd": [f"people/c{i + 1}" for i in range(600)],
        "resourceNamesToRemove": [f"people/c{i + 1}" for i in range(401)],
    }
    assert error_of(svc.contactGroups().members().modify(resourceName=group["resourceName"], body=too_many))[0] == 400
    assert (
        error_of(
            svc.contactGroups()
            .members()
            .modify(resourceName="contactGroups/friends", body={"resourceNamesToAdd": [b["resourceName"]]})
        )[0]
        == 400
    )
    assert error_of(svc.contactGroups().members().modify(resourceName="contactGroups/abc123", body={}))[0] == 404


def test_update_delete_and_group_sync(emulator) -> None:
    svc = people(emulator)
    first = svc.contactGroups().list(pageSize=2).execute()
    assert "nextSyncToken" not in first
    rest = svc.contactGroups().list(pageSize=2, pageToken=first["nextPageToken"]).execute()
    while "nextPageToken" in rest:
        rest = svc.contactGroups().list(pageSize=2, pageToken=rest["nextPageToken"]).execute()
    token = rest["nextSyncToken"]
    group = (
        svc.contactGroups()
        .create(body={"contactGroup": {"name": "Old", "clientData": [{"key": "crm", "value": "g1"}]}})
        .execute()
    )
    body = {"contactGroup": {"name": "New", "etag": group["etag"]}}
    renamed = svc.contactGroups().update(resourceName=group["resourceName"], body=body).execute()
    assert renamed["name"] == "New"
    assert renamed["etag"] != group["etag"]
    status, err = error_of(svc.contactGroups().update(resourceName=group["resourceName"], body=body))
    assert status == 400
    assert err["status"] == "FAILED_PRECONDITION"
    full = svc.contactGroups().get(resourceName=group["resourceName"], groupFields="clientData,name").execute()
    assert full["clientData"] == [{"key": "crm", "value": "g1"}]
    member = (
        svc.people()
        .createContact(
            body={
                **person("Member"),
                "memberships": [{"contactGroupMembership": {"contactGroupResourceName": group["resourceName"]}}],
            }
        )
        .execute()
    )
    other = svc.contactGroups().create(body={"contactGroup": {"name": "Other"}}).execute()
    svc.contactGroups().delete(resourceName=group["resourceName"], deleteContacts=True).execute()
    assert error_of(svc.people().get(resourceName=member["resourceName"], personFields="names"))[0] == 404
    assert error_of(svc.contactGroups().get(resourceName=group["resourceName"]))[0] == 404
    changed = svc.contactGroups().list(syncToken=token).execute()["contactGroups"]
    by_name = {g["resourceName"]: g for g in changed}
    assert by_name[group["resourceName"]]["metadata"]["deleted"] is True
    assert other["resourceName"] in by_name
    batch = (
        svc.contactGroups()
        .batchGet(resourceNames=[other["resourceName"], group["resourceName"]], maxMembers=10)
        .execute()["responses"]
    )
    assert batch[0]["contactGroup"]["name"] == "Other"
    assert batch[1]["status"]["code"] == 5
    assert error_of(svc.contactGroups().batchGet(resourceNames=[f"contactGroups/g{i}" for i in range(201)]))[0] == 400
