"""GooglePeople writes against the emulator: batched creates, conditional updates, deletes, groups."""

from __future__ import annotations

import pytest

from crmsync.google.errors import PermissionDenied
from crmsync.model.settings import ContactOptions
from crmsync.ports import WriteOp
from infra.google_emulator.core import SCOPE_CONTACTS_RO
from tests.integration.google.people_support import (
    CRM_GROUP,
    adapter,
    create_op,
    people_service,
    seed_contacts,
)

pytestmark = pytest.mark.integration


def _raw(i: int) -> dict[str, object]:
    return {
        "given": f"New{i}",
        "family": "Person",
        "company": "Acme",
        "title": "CEO" if i % 2 else None,
        "emails": [{"type": "work", "value": f"New{i}@Example.com"}],
        "phones": [{"type": "mobile", "value": "(212) 555-0100"}],
        "birthday": {"month": 2, "day": 29},
        "notes": "<p>hello</p>",
    }


def test_create_450_is_three_batch_calls_with_client_data(emulator) -> None:
    side = adapter(emulator)
    ops = [create_op(f"crm-{i}", _raw(i)) for i in range(450)]
    results = side.create(ops)
    assert [r.key for r in results] == [op.key for op in ops]
    assert all(r.ok and r.id and r.version for r in results)
    assert [r.canon for r in results] == [op.full for op in ops]  # what Google holds, canonically
    assert side.counter.counts == {
        "people.contactGroups.list": 1,
        "people.contactGroups.create": 1,
        "people.batchCreateContacts": 3,
    }
    assert side.group_resource_name is not None
    listing = adapter(emulator, group_resource_name=side.group_resource_name).list_changes(None)
    by_id = {c.id: c for c in listing.changes}
    assert {by_id[str(r.id)].crm_id_hint for r in results} == {f"crm-{i}" for i in range(450)}
    assert all(c.in_scope for c in listing.changes)


def test_group_is_created_once_then_found_then_reused(emulator) -> None:
    first = adapter(emulator)
    first.create([create_op("crm-1", _raw(1))])
    assert first.counter.counts["people.contactGroups.create"] == 1
    second = adapter(emulator)  # no resource name given: looked up, not created again
    second.create([create_op("crm-2", _raw(2))])
    assert second.counter.counts == {"people.contactGroups.list": 1, "people.batchCreateContacts": 1}
    assert second.group_resource_name == first.group_resource_name
    third = adapter(emulator, group_resource_name=first.group_resource_name)
    third.create([create_op("crm-3", _raw(3))])
    assert third.counter.counts == {"people.batchCreateContacts": 1}


def _linked(emulator, n: int) -> tuple[list[str], dict[str, object]]:
    names = seed_contacts(emulator, n)
    listing = adapter(emulator, group_resource_name=CRM_GROUP).list_changes(None)
    return names, {c.id: c for c in listing.changes}


def test_update_sends_only_changed_fields_and_reports_a_stale_etag_as_conflict(emulator) -> None:
    names, seen = _linked(emulator, 5)
    svc = people_service(emulator)
    # Someone edits contact 2 in Google after we read it: our etag for it is stale.
    current = svc.people().get(resourceName=names[2], personFields="names").execute()
    svc.people().updateContact(
        resourceName=names[2],
        updatePersonFields="names",
        body={"etag": current["etag"], "names": [{"givenName": "Theirs"}]},
    ).execute()
    ops = []
    for rid in names[:4]:
        base = seen[rid].canon
        full = {**base, "title": "Director", "given": "NotSent"}  # "given" is not in fields: must not be written
        ops.append(WriteOp(rid, rid, {"title": "Director"}, full, seen[rid].version))
    side = adapter(emulator, group_resource_name=CRM_GROUP)
    results = side.update(ops)
    assert [r.key for r in results] == names[:4]
    stale = results[2]
    assert stale.conflict
    assert not stale.ok
    for r in (results[0], results[1], results[3]):
        assert r.ok
        assert r.canon is not None
        assert r.canon["title"] == "Director"
        assert r.canon["given"].startswith("Given")  # names untouched: PATCH of changed fields only
        assert r.version != seen[r.key].version
    after = svc.people().get(resourceName=names[2], personFields="names,organizations").execute()
    assert after["names"][0]["givenName"] == "Theirs"
    assert "organizations" not in after
    # The contacts are read once (this adapter has not listed them; an update is laid over what
    # Google holds), then one stale etag fails the whole batch: batch, probe, batch of the rest.
    assert side.counter.counts == {
        "people.batchUpdateContacts": 2,
        "people.getBatchGet": 2,
    }


def test_update_of_a_contact_deleted_in_google_is_a_conflict_read_as_its_delete(emulator) -> None:
    # People's listings lag a delete by minutes, so the engine can update a contact the user has
    # just deleted. That is a conflict (the engine re-reads, finds it gone, the delete rule decides),
    # not a permanent per-record error; its neighbours in the batch are written.
    names, seen = _linked(emulator, 3)
    people_service(emulator).people().deleteContact(resourceName=names[0]).execute()
    ops = [WriteOp(r, r, {"notes": "x"}, {**seen[r].canon, "notes": "x"}, seen[r].version) for r in names]
    side = adapter(emulator, group_resource_name=CRM_GROUP)
    results = side.update(ops)
    assert not results[0].ok
    assert results[0].conflict
    assert "deleted in Google since it was read" in str(results[0].error)
    assert results[1].ok
    assert results[2].ok
    assert side.get([names[0]]) == {}  # the re-read the engine makes: gone


def test_update_of_one_contact_deleted_in_google_is_a_conflict(emulator) -> None:
    names, seen = _linked(emulator, 1)
    people_service(emulator).people().deleteContact(resourceName=names[0]).execute()
    op = WriteOp(names[0], names[0], {"notes": "x"}, {**seen[names[0]].canon, "notes": "x"}, seen[names[0]].version)
    [result] = adapter(emulator, group_resource_name=CRM_GROUP).update([op])
    assert result.conflict and not result.ok


def test_delete_twice_is_ok(emulator) -> None:
    names = seed_contacts(emulator, 6)
    side = adapter(emulator, group_resource_name=CRM_GROUP)
    ops = [WriteOp(r, r, {}, {}) for r in names[:3]]
    assert all(r.ok for r in side.delete(ops))
    assert side.counter.counts == {"people.batchDeleteContacts": 1}
    again = adapter(emulator, group_resource_name=CRM_GROUP)
    mixed = [*ops, WriteOp(names[3], names[3], {}, {})]
    assert all(r.ok for r in again.delete(mixed))
    # The batch fails on the gone ones; a probe finds them gone; the live one is deleted.
    assert again.counter.counts == {"people.batchDeleteContacts": 2, "people.getBatchGet": 1}
    live = {c.id for c in adapter(emulator, group_resource_name=CRM_GROUP).list_changes(None).changes}
    assert live == set(names[4:])


def test_one_refused_contact_does_not_stop_a_create_batch(emulator) -> None:
    svc = people_service(emulator)
    gone = svc.contactGroups().create(body={"contactGroup": {"name": "Gone"}}).execute()
    svc.people().createContact(body={"names": [{"givenName": "Existing"}]}).execute()
    side = adapter(emulator, group_name=None, options=ContactOptions(groups_as_tags=True))
    side.list_changes(None)  # the adapter now knows the groups, "Gone" among them
    svc.contactGroups().delete(resourceName=gone["resourceName"]).execute()  # ... which is deleted meanwhile
    good = create_op("crm-good", _raw(1))
    bad = create_op("crm-bad", {**_raw(2), "groups": ["Gone"]})
    results = side.create([good, bad])
    assert results[0].ok
    assert results[0].canon == good.full
    assert not results[1].ok
    assert "does not exist" in str(results[1].error)
    # The whole batch is refused for one contact: each is then sent alone.
    assert side.counter.counts == {
        "people.connections.list": 1,
        "people.contactGroups.list": 1,
        "people.batchCreateContacts": 1,
        "people.createContact": 2,
    }


def test_read_only_grant_is_a_connection_error(emulator) -> None:
    side = adapter(emulator, group_name=None, scopes=frozenset({SCOPE_CONTACTS_RO}))
    with pytest.raises(PermissionDenied, match="reconnect"):
        side.create([create_op("crm-1", _raw(1))])
    assert side.counter.counts == {"people.batchCreateContacts": 1}


def test_a_delete_expecting_an_older_etag_is_a_conflict_and_deletes_nothing(emulator) -> None:
    # People's delete takes no etag and its listings lag: the adapter probes the etag first, so a
    # contact edited since the engine read it is never deleted (answered as a conflict instead).
    names = seed_contacts(emulator, 2)
    svc = people_service(emulator)
    seen = [svc.people().get(resourceName=n, personFields="metadata").execute()["etag"] for n in names]
    edited = svc.people().get(resourceName=names[0], personFields="names").execute()
    edited["names"] = [{"givenName": "Edited"}]
    svc.people().updateContact(resourceName=names[0], updatePersonFields="names", body=edited).execute()
    side = adapter(emulator, group_resource_name=CRM_GROUP)
    results = side.delete([WriteOp(n, n, {}, {}, version=etag) for n, etag in zip(names, seen, strict=True)])
    by_key = {r.key: r for r in results}
    assert by_key[names[0]].conflict and not by_key[names[0]].ok
    assert by_key[names[1]].ok
    assert side.counter.counts == {"people.getBatchGet": 1, "people.batchDeleteContacts": 1}
    still = svc.people().get(resourceName=names[0], personFields="names").execute()
    assert still["names"][0]["givenName"] == "Edited"
