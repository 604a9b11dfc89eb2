"""GooglePeople listings against the emulator: full, incremental, tombstones, token expiry, scope, reads."""

from __future__ import annotations

import pytest

from crmsync.google.people import GooglePeople
from crmsync.model.settings import ContactOptions
from infra.google_emulator.people import expire_sync_tokens, seed
from tests.integration.google.people_support import (
    CRM_GROUP,
    EMAIL,
    adapter,
    people_service,
    seed_contacts,
    server_calls,
)

pytestmark = pytest.mark.integration


def test_full_listing_of_2500_contacts(emulator) -> None:
    names = seed_contacts(emulator, 2500, in_group=2000)
    side = adapter(emulator)
    listing = side.list_changes(None)
    assert listing.full
    assert listing.next_token
    assert [c.id for c in listing.changes] == names
    assert sum(c.in_scope for c in listing.changes) == 2000
    first = listing.changes[0]
    assert first.canon is not None
    assert first.canon["given"] == "Given00000"
    assert first.canon["phones"] == [{"value": "+12125550000", "type": "mobile"}]
    assert first.version
    assert first.updated_at is not None
    # 3 pages of 1,000 plus one contactGroups.list to find the "CRM" group.
    assert side.counter.counts == {"people.connections.list": 3, "people.contactGroups.list": 1}
    assert side.group_resource_name == CRM_GROUP
    assert server_calls(emulator) == {"people.people.connections.list": 3, "people.contactGroups.list": 1}


def test_incremental_listing_after_edits_and_deletes(emulator) -> None:
    names = seed_contacts(emulator, 30)
    first = adapter(emulator).list_changes(None)
    svc = people_service(emulator)
    current = svc.people().get(resourceName=names[3], personFields="names").execute()
    svc.people().updateContact(
        resourceName=names[3],
        updatePersonFields="names",
        body={"etag": current["etag"], "names": [{"givenName": "Edited"}]},
    ).execute()
    svc.people().deleteContact(resourceName=names[5]).execute()

    side = adapter(emulator, group_resource_name=CRM_GROUP)
    listing = side.list_changes(first.next_token)
    assert not listing.full
    by_id = {c.id: c for c in listing.changes}
    assert set(by_id) == {names[3], names[5]}
    assert by_id[names[3]].canon is not None
    assert by_id[names[3]].canon["given"] == "Edited"
    assert by_id[names[5]].deleted  # tombstone
    assert listing.next_token
    assert listing.next_token != first.next_token

    quiet = adapter(emulator, group_resource_name=CRM_GROUP)
    before = sum(server_calls(emulator).values())
    again = quiet.list_changes(listing.next_token)
    assert again.changes == []
    assert not again.full
    assert quiet.counter.counts == {"people.connections.list": 1}  # a no-change sync: ONE request
    assert sum(server_calls(emulator).values()) == before + 1


def test_expired_sync_token_switches_to_a_flagged_full_listing(emulator) -> None:
    names = seed_contacts(emulator, 12)
    token = adapter(emulator).list_changes(None).next_token
    expire_sync_tokens(emulator.state.account(EMAIL), emulator.state)
    side = adapter(emulator, group_resource_name=CRM_GROUP)
    listing = side.list_changes(token)
    assert listing.full
    assert [c.id for c in listing.changes] == names
    assert side.counter.counts == {"people.connections.list": 2}  # the refused call, then the full listing
    fresh = adapter(emulator, group_resource_name=CRM_GROUP).list_changes(listing.next_token)
    assert not fresh.full
    assert fresh.changes == []


def test_unsyncable_person_is_reported_not_dropped_and_hints_are_read(emulator) -> None:
    seed(
        emulator.state.account(EMAIL),
        emulator.state,
        {
            "connections": [
                {"names": [{"givenName": "Bad"}], "emailAddresses": [{"value": "not-an-email@"}]},
                {"names": [{"givenName": "Ours"}], "clientData": [{"key": "crmsync.crm_id", "value": "crm-42"}]},
            ]
        },
    )
    side = adapter(emulator, group_name=None)
    bad, ours = side.list_changes(None).changes
    assert bad.canon is None
    assert bad.error
    assert "not-an-email@" in bad.error
    assert not bad.deleted
    assert ours.crm_id_hint == "crm-42"
    assert ours.in_scope
    assert side.counter.counts == {"people.connections.list": 1}


def test_group_tags_are_mirrored_only_when_asked(emulator) -> None:
    seed(
        emulator.state.account(EMAIL),
        emulator.state,
        {
            "contactGroups": [
                {"resourceName": CRM_GROUP, "name": "CRM"},
                {"resourceName": "contactGroups/v1", "name": "VIP"},
            ],
            "connections": [
                {
                    "names": [{"givenName": "Tagged"}],
                    "memberships": [
                        {"contactGroupMembership": {"contactGroupResourceName": CRM_GROUP}},
                        {"contactGroupMembership": {"contactGroupResourceName": "contactGroups/v1"}},
                    ],
                }
            ],
        },
    )
    plain = adapter(emulator).list_changes(None).changes[0]
    tagged = adapter(emulator, options=ContactOptions(groups_as_tags=True)).list_changes(None).changes[0]
    assert plain.canon is not None
    assert plain.canon["groups"] == []
    assert tagged.canon is not None
    assert tagged.canon["groups"] == ["VIP"]


def test_get_by_ids_in_batches_of_200(emulator) -> None:
    names = seed_contacts(emulator, 250)
    side: GooglePeople = adapter(emulator, group_resource_name=CRM_GROUP)
    missing = "people/c999999999"
    got = side.get([*names, missing])
    assert set(got) == set(names)
    assert got[names[249]].canon is not None
    assert got[names[249]].in_scope
    assert side.counter.counts == {"people.getBatchGet": 2}
