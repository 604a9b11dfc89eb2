"""People API emulator: contacts through the real google-api-python-client."""

from __future__ import annotations

import json
from pathlib import Path

import httplib2
import pytest
from googleapiclient.discovery import build

from infra.google_emulator.core import SCOPE_CALENDAR, SCOPE_CONTACTS_RO
from infra.google_emulator.people import dump, seed
from tests.integration.google_emulator.people_helpers import ME, error_of, people, person

pytestmark = pytest.mark.integration

TRICKY = json.loads((Path(__file__).parents[3] / "infra/crm/data/tricky_records.json").read_text())["contacts"]
ALL = "names,emailAddresses,phoneNumbers,biographies,birthdays,organizations,clientData,memberships,metadata"


def _google_person(rec: dict) -> dict:
    body: dict = {"names": [{"givenName": rec["given"], "familyName": rec["family"]}]}
    body["emailAddresses"] = [{"type": e["type"], "value": e["value"]} for e in rec.get("emails", [])]
    body["phoneNumbers"] = [{"type": p["type"], "value": p["value"]} for p in rec.get("phones", [])]
    notes = rec.get("notes") or ("x" * rec["notes_length"] if rec.get("notes_length") else None)
    if notes:
        body["biographies"] = [{"value": notes, "contentType": "TEXT_PLAIN"}]
    if rec.get("birthday"):
        body["birthdays"] = [{"date": rec["birthday"]}]
    if rec.get("company"):
        body["organizations"] = [{"name": rec["company"], "title": rec.get("title", "")}]
    body["clientData"] = [{"key": "crmId", "value": rec["key"]}]
    return body


def test_tricky_records_round_trip_with_derived_fields(emulator) -> None:
    svc = people(emulator)
    bodies = [_google_person(r) for r in TRICKY]
    created = (
        svc.people()
        .batchCreateContacts(body={"contacts": [{"contactPerson": b} for b in bodies], "readMask": "names"})
        .execute()["createdPeople"]
    )
    assert len(created) == len(TRICKY)
    for body, item in zip(bodies, created, strict=True):
        assert item["httpStatusCode"] == 200
        got = svc.people().get(resourceName=item["person"]["resourceName"], personFields=ALL).execute()
        name = got["names"][0]
        assert (name["givenName"], name["familyName"]) == (
            body["names"][0]["givenName"],
            body["names"][0]["familyName"],
        )
        assert name["displayName"] == f"{name['givenName']} {name['familyName']}"
        assert name["metadata"]["primary"] is True
        assert name["metadata"]["source"]["type"] == "CONTACT"
        assert [e["value"] for e in got.get("emailAddresses", [])] == [e["value"] for e in body["emailAddresses"]]
        assert [p["value"] for p in got.get("phoneNumbers", [])] == [p["value"] for p in body["phoneNumbers"]]
        assert got.get("biographies", [{}])[0].get("value") == body.get("biographies", [{}])[0].get("value")
        assert got["clientData"][0]["key"] == "crmId"
        assert got["clientData"][0]["value"] == body["clientData"][0]["value"]
        groups = [m["contactGroupMembership"]["contactGroupResourceName"] for m in got["memberships"]]
        assert groups == ["contactGroups/myContacts"]
        assert got["resourceName"].startswith("people/c")
        assert got["resourceName"][8:].isdigit()
        assert got["metadata"]["sources"][0]["type"] == "CONTACT"
        assert got["metadata"]["sources"][0]["updateTime"]
    by_key = {r["key"]: c["person"]["resourceName"] for r, c in zip(TRICKY, created, strict=True)}
    multi = svc.people().get(resourceName=by_key["c07"], personFields="emailAddresses,phoneNumbers").execute()
    assert len(multi["emailAddresses"]) == 5
    assert [e["metadata"].get("primary") for e in multi["emailAddresses"]][:2] == [True, None]
    anna = svc.people().get(resourceName=by_key["c01"], personFields="phoneNumbers,emailAddresses").execute()
    assert anna["phoneNumbers"][0]["canonicalForm"] == "+4915123456789"
    assert anna["phoneNumbers"][0]["formattedType"] == "Mobile"
    assert anna["emailAddresses"][0]["formattedType"] == "Work"
    bad = svc.people().get(resourceName=by_key["c14"], personFields="phoneNumbers").execute()
    assert bad["phoneNumbers"][0]["value"] == "ext. 42 ask for Bob"
    assert "canonicalForm" not in bad["phoneNumbers"][0]
    noyear = svc.people().get(resourceName=by_key["c11"], personFields="birthdays").execute()
    assert noyear["birthdays"][0]["date"] == {"month": 2, "day": 29}


def test_person_fields_required_and_honoured(emulator) -> None:
    svc = people(emulator)
    created = (
        svc.people()
        .createContact(body=person("Ada", "Lovelace", emailAddresses=[{"value": "ada@example.com"}]))
        .execute()
    )
    assert created["emailAddresses"][0]["value"] == "ada@example.com"  # createContact defaults to every field
    status, err = error_of(svc.people().get(resourceName=created["resourceName"]))
    assert status == 400
    assert err["status"] == "INVALID_ARGUMENT"
    assert "personFields mask is required" in err["message"]
    status, err = error_of(svc.people().connections().list(resourceName=ME))
    assert status == 400
    assert "personFields" in err["message"]
    status, err = error_of(svc.people().get(resourceName=created["resourceName"], personFields="names,bogus"))
    assert status == 400
    assert '"bogus"' in err["message"]
    only_names = svc.people().get(resourceName=created["resourceName"], personFields="names").execute()
    assert set(only_names) == {"resourceName", "etag", "names"}
    listed = svc.people().connections().list(resourceName=ME, personFields="emailAddresses").execute()
    assert set(listed["connections"][0]) == {"resourceName", "etag", "emailAddresses"}
    masked = svc.people().createContact(body=person("Bob"), personFields="metadata").execute()
    assert set(masked) == {"resourceName", "etag", "metadata"}


def test_update_replaces_only_masked_fields_and_changes_etag(emulator) -> None:
    svc = people(emulator)
    body = person(
        "Grace", "Hopper", emailAddresses=[{"value": "grace@example.com"}], clientData=[{"key": "crmId", "value": "7"}]
    )
    created = svc.people().createContact(body=body).execute()
    patch = {
        "etag": created["etag"],
        "names": [{"givenName": "Grace", "familyName": "Murray Hopper"}],
        "emailAddresses": [],
    }
    updated = (
        svc.people()
        .updateContact(resourceName=created["resourceName"], updatePersonFields="names", body=patch)
        .execute()
    )
    assert updated["etag"] != created["etag"]
    assert updated["names"][0]["displayName"] == "Grace Murray Hopper"
    assert updated["emailAddresses"][0]["value"] == "grace@example.com"  # outside the mask: untouched
    assert updated["clientData"] == created["clientData"]
    cleared = svc.people().updateContact(
        resourceName=created["resourceName"], updatePersonFields="emailAddresses", personFields="emailAddresses,names",
        body={"etag": updated["etag"]},
    ).execute()  # fmt: skip
    assert "emailAddresses" not in cleared
    assert cleared["names"][0]["familyName"] == "Murray Hopper"
    status, err = error_of(
        svc.people().updateContact(resourceName=created["resourceName"], body={"etag": cleared["etag"]})
    )
    assert status == 400
    assert "updatePersonFields" in err["message"]


def test_update_with_stale_etag_is_400_failed_precondition(emulator) -> None:
    svc = people(emulator)
    created = svc.people().createContact(body=person("Alan", "Turing")).execute()
    rn = created["resourceName"]
    svc.people().updateContact(
        resourceName=rn, updatePersonFields="names", body={**person("Alan", "M. Turing"), "etag": created["etag"]}
    ).execute()
    status, err = error_of(
        svc.people().updateContact(
            resourceName=rn, updatePersonFields="names", body={**person("X"), "etag": created["etag"]}
        )
    )
    assert status == 400
    assert err["status"] == "FAILED_PRECONDITION"
    assert err["message"].startswith("Request person.etag is different than the current person.etag")
    status, err = error_of(svc.people().updateContact(resourceName=rn, updatePersonFields="names", body=person("X")))
    assert status == 400
    assert "etag" in err["message"]
    current = svc.people().get(resourceName=rn, personFields="names,metadata").execute()
    assert current["names"][0]["familyName"] == "M. Turing"
    by_source = {"metadata": {"sources": current["metadata"]["sources"]}, **person("Alan", "Source")}
    done = svc.people().updateContact(resourceName=rn, updatePersonFields="names", body=by_source).execute()
    assert done["names"][0]["familyName"] == "Source"


def test_singleton_fields_and_unknown_fields_are_rejected(emulator) -> None:
    svc = people(emulator)
    two_names = {"names": [{"givenName": "A"}, {"givenName": "B"}]}
    status, err = error_of(svc.people().createContact(body=two_names))
    assert status == 400
    assert "names" in err["message"]
    created = svc.people().createContact(body=person("One")).execute()
    bios = {"etag": created["etag"], "biographies": [{"value": "a"}, {"value": "b"}]}
    status, _ = error_of(
        svc.people().updateContact(resourceName=created["resourceName"], updatePersonFields="biographies", body=bios)
    )
    assert status == 400
    status, err = error_of(svc.people().createContact(body={"nmes": [{"givenName": "typo"}]}))
    assert status == 400
    assert '"nmes"' in err["message"]


def test_unknown_deleted_and_malformed_resources(emulator) -> None:
    svc = people(emulator)
    status, err = error_of(svc.people().get(resourceName="people/c123456789", personFields="names"))
    assert status == 404
    assert err["status"] == "NOT_FOUND"
    created = svc.people().createContact(body=person("Gone")).execute()
    assert svc.people().deleteContact(resourceName=created["resourceName"]).execute() == {}
    assert error_of(svc.people().get(resourceName=created["resourceName"], personFields="names"))[0] == 404
    assert error_of(svc.people().deleteContact(resourceName=created["resourceName"]))[0] == 404
    upd = svc.people().updateContact(
        resourceName=created["resourceName"], updatePersonFields="names", body={"etag": created["etag"]}
    )
    assert error_of(upd)[0] == 404
    assert error_of(svc.people().get(resourceName="people/not-a-contact", personFields="names"))[0] == 400
    me = svc.people().get(resourceName=ME, personFields="emailAddresses").execute()
    assert me["emailAddresses"][0]["value"] == "owner@example.com"


def test_batch_limits_and_required_masks(emulator) -> None:
    svc = people(emulator)
    too_many = {"contacts": [{"contactPerson": person(f"P{i}")} for i in range(201)], "readMask": "names"}
    status, err = error_of(svc.people().batchCreateContacts(body=too_many))
    assert status == 400
    assert "200" in err["message"]
    status, err = error_of(svc.people().batchCreateContacts(body={"contacts": [{"contactPerson": person("A")}]}))
    assert status == 400
    assert "readMask" in err["message"]
    upd = {
        "contacts": {f"people/c{i + 1}": person("x") for i in range(201)},
        "updateMask": "names",
        "readMask": "names",
    }
    assert error_of(svc.people().batchUpdateContacts(body=upd))[0] == 400
    no_mask = {"contacts": {"people/c1": person("x")}, "readMask": "names"}
    status, err = error_of(svc.people().batchUpdateContacts(body=no_mask))
    assert status == 400
    assert "updateMask" in err["message"]
    status, err = error_of(
        svc.people().batchDeleteContacts(body={"resourceNames": [f"people/c{i + 1}" for i in range(501)]})
    )
    assert status == 400
    assert "500" in err["message"]
    names = [f"people/c{i + 1}" for i in range(201)]
    assert error_of(svc.people().getBatchGet(resourceNames=names, personFields="names"))[0] == 400
    assert (
        len(
            svc.people()
            .batchCreateContacts(body={**too_many, "contacts": too_many["contacts"][:200]})
            .execute()["createdPeople"]
        )
        == 200
    )


def test_batch_update_get_and_delete(emulator) -> None:
    svc = people(emulator)
    created = (
        svc.people()
        .batchCreateContacts(
            body={"contacts": [{"contactPerson": person(f"N{i}", "Batch")} for i in range(3)], "readMask": ""}
        )
        .execute()["createdPeople"]
    )
    first = [c["person"] for c in created]
    assert all(set(p) == {"resourceName", "etag"} for p in first)  # empty readMask skips the read
    update = {p["resourceName"]: {**person("Renamed", p["resourceName"][-4:]), "etag": p["etag"]} for p in first}
    result = (
        svc.people()
        .batchUpdateContacts(body={"contacts": update, "updateMask": "names", "readMask": "names"})
        .execute()["updateResult"]
    )
    assert set(result) == set(update)
    assert all(
        r["httpStatusCode"] == 200 and r["person"]["names"][0]["givenName"] == "Renamed" for r in result.values()
    )
    stale = {first[0]["resourceName"]: {**person("Again"), "etag": first[0]["etag"]}}
    status, err = error_of(
        svc.people().batchUpdateContacts(body={"contacts": stale, "updateMask": "names", "readMask": "names"})
    )
    assert status == 400
    assert err["status"] == "FAILED_PRECONDITION"
    names = [p["resourceName"] for p in first] + ["people/c999"]
    got = svc.people().getBatchGet(resourceNames=names, personFields="names").execute()["responses"]
    assert [r["httpStatusCode"] for r in got] == [200, 200, 200, 404]
    assert got[3]["requestedResourceName"] == "people/c999"
    assert got[3]["status"]["code"] == 5
    status, _ = error_of(
        svc.people().batchDeleteContacts(body={"resourceNames": [first[0]["resourceName"], "people/c999"]})
    )
    assert status == 404  # nothing deleted when one name is unknown
    assert svc.people().batchDeleteContacts(body={"resourceNames": names[:2]}).execute() == {}
    left = svc.people().connections().list(resourceName=ME, personFields="names").execute()
    assert [p["resourceName"] for p in left["connections"]] == [names[2]]
    assert left["totalItems"] == 1


def test_search_contacts_prefix_match(emulator) -> None:
    svc = people(emulator)
    svc.people().createContact(
        body=person(
            "Marie",
            "Curie",
            emailAddresses=[{"value": "marie@radium.fr"}],
            phoneNumbers=[{"value": "+33 1 23 45 67 89"}],
        )
    ).execute()
    svc.people().createContact(body=person("Pierre", "Curie")).execute()
    svc.people().createContact(body=person("Zoë", "Ångström")).execute()
    assert svc.people().searchContacts(query="", readMask="names").execute() == {}  # warm-up

    def names(q):
        return sorted(
            r["person"]["names"][0]["givenName"]
            for r in svc.people().searchContacts(query=q, readMask="names").execute().get("results", [])
        )

    assert names("cur") == ["Marie", "Pierre"]
    assert names("marie c") == ["Marie"]
    assert names("urie") == []
    assert names("radium") == ["Marie"]
    assert names("+33 1 23") == ["Marie"]
    assert names("ÅNG") == ["Zoë"]
    status, err = error_of(svc.people().searchContacts(query="cur"))
    assert status == 400
    assert "readMask" in err["message"]
    for i in range(35):
        svc.people().createContact(body=person(f"Same{i}")).execute()
    assert len(svc.people().searchContacts(query="same", readMask="names", pageSize=100).execute()["results"]) == 30


def test_memberships_update_through_update_person_fields(emulator) -> None:
    svc = people(emulator)
    group = svc.contactGroups().create(body={"contactGroup": {"name": "CRM"}}).execute()
    created = svc.people().createContact(body=person("Member")).execute()
    both = {"etag": created["etag"], "memberships": [
        {"contactGroupMembership": {"contactGroupResourceName": "contactGroups/myContacts"}},
        {"contactGroupMembership": {"contactGroupResourceName": group["resourceName"]}},
    ]}  # fmt: skip
    updated = (
        svc.people()
        .updateContact(resourceName=created["resourceName"], updatePersonFields="memberships", body=both)
        .execute()
    )
    groups = [m["contactGroupMembership"]["contactGroupResourceName"] for m in updated["memberships"]]
    assert groups == ["contactGroups/myContacts", group["resourceName"]]
    assert svc.contactGroups().get(resourceName=group["resourceName"]).execute()["memberCount"] == 1
    empty = {"etag": updated["etag"], "memberships": []}
    status, _ = error_of(
        svc.people().updateContact(resourceName=created["resourceName"], updatePersonFields="memberships", body=empty)
    )
    assert status == 400
    unknown = {
        "etag": updated["etag"],
        "memberships": [{"contactGroupMembership": {"contactGroupResourceName": "contactGroups/nope"}}],
    }
    assert (
        error_of(
            svc.people().updateContact(
                resourceName=created["resourceName"], updatePersonFields="memberships", body=unknown
            )
        )[0]
        == 400
    )


def test_auth_scopes_and_account_isolation(emulator) -> None:
    alice, bob = people(emulator, "alice@example.com"), people(emulator, "bob@example.com")
    mine = alice.people().createContact(body=person("Alice's", "Contact")).execute()
    assert "connections" not in bob.people().connections().list(resourceName=ME, personFields="names").execute()
    assert error_of(bob.people().get(resourceName=mine["resourceName"], personFields="names"))[0] == 404
    readonly = people(emulator, "alice@example.com", frozenset({SCOPE_CONTACTS_RO}))
    assert readonly.people().connections().list(resourceName=ME, personFields="names").execute()["totalItems"] == 1
    status, err = error_of(readonly.people().createContact(body=person("No")))
    assert status == 403
    assert err["status"] == "PERMISSION_DENIED"
    calendar_only = people(emulator, "alice@example.com", frozenset({SCOPE_CALENDAR}))
    assert error_of(calendar_only.people().connections().list(resourceName=ME, personFields="names"))[0] == 403
    anon = build("people", "v1", http=httplib2.Http(), static_discovery=True,
                 client_options={"api_endpoint": emulator.base_url}, cache_discovery=False)  # fmt: skip
    status, err = error_of(anon.people().connections().list(resourceName=ME, personFields="names"))
    assert status == 401
    assert err["status"] == "UNAUTHENTICATED"


def test_seed_and_dump_round_trip(emulator) -> None:
    state = emulator.state
    acct = state.account("seeded@example.com")
    data = {
        "contactGroups": [{"resourceName": "contactGroups/7aa1", "name": "Kunden"}],
        "connections": [
            {**person("Jürgen", "Groß", clientData=[{"key": "crmId", "value": "J1"}]),
             "memberships": [{"contactGroupMembership": {"contactGroupResourceName": "contactGroups/7aa1"}}]},
            *[person(f"Bulk{i}") for i in range(10_000)],
        ],
    }  # fmt: skip
    seeded = seed(acct, state, data)
    assert len(seeded["connections"]) == 10_001
    assert seeded["contactGroups"][0]["resourceName"] == "contactGroups/7aa1"
    svc = people(emulator, "seeded@example.com")
    got = svc.contactGroups().get(resourceName="contactGroups/7aa1", maxMembers=5).execute()
    assert got["memberCount"] == 1
    assert got["memberResourceNames"] == [seeded["connections"][0]["resourceName"]]
    dumped = dump(acct, state)
    first = dumped["connections"][0]
    assert {"resourceName": first["resourceName"], "etag": first["etag"]} == seeded["connections"][0]
    assert first["names"][0]["displayName"] == "Jürgen Groß"
    assert first["clientData"][0]["value"] == "J1"
    assert {g["resourceName"] for g in dumped["contactGroups"]} >= {"contactGroups/myContacts", "contactGroups/7aa1"}
    other = state.account("copy@example.com")
    seed(other, state, {"contactGroups": dumped["contactGroups"], "connections": dumped["connections"][:1]})
    assert dump(other, state)["connections"][0]["resourceName"] == seeded["connections"][0]["resourceName"]
