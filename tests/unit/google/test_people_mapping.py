"""Person JSON <-> canonical contact: round trips of every tricky contact, masks, singletons."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from crmsync.google.people_mapping import (
    CONTENT_FIELDS,
    CRM_ID_KEY,
    crm_id_of,
    person_body,
    person_canon,
    person_fields,
)
from crmsync.google.people_models import Person
from crmsync.model.contact import canonical_contact
from crmsync.model.normalise import InvalidValue

pytestmark = pytest.mark.unit

TRICKY = Path(__file__).parents[3] / "infra/crm/data/tricky_records.json"


def _raw(record: dict[str, Any]) -> dict[str, Any]:
    raw = {k: v for k, v in record.items() if k not in ("key", "why", "notes_length")}
    if "notes_length" in record:
        raw["notes"] = ("Long note line. " * (record["notes_length"] // 16 + 1))[: record["notes_length"]]
    raw["addresses"] = [
        {**{k: v for k, v in a.items() if k != "postal"}, "postal_code": a.get("postal")}
        for a in record.get("addresses", [])
    ]
    return raw


def _tricky() -> list[tuple[str, dict[str, Any]]]:
    contacts = json.loads(TRICKY.read_text())["contacts"]
    return [(c["key"], _raw(c)) for c in contacts]


def _through_google(canon: dict[str, Any], region: str) -> dict[str, Any]:
    body = person_body(canon, CONTENT_FIELDS)
    return person_canon(Person.model_validate(body), default_region=region)


@pytest.mark.parametrize(("key", "raw"), _tricky(), ids=[k for k, _ in _tricky()])
@pytest.mark.parametrize("region", ["US", "DE"])
def test_round_trip_of_every_tricky_contact(key: str, raw: dict[str, Any], region: str) -> None:
    try:
        canon = canonical_contact(raw, default_region=region)
    except InvalidValue:
        assert key == "c15"  # the invalid e-mail: never reaches Google
        return
    assert _through_google(canon, region) == canon


def test_bad_email_from_google_is_an_invalid_value() -> None:
    person = Person.model_validate({"resourceName": "people/c1", "emailAddresses": [{"value": "not-an-email@"}]})
    with pytest.raises(InvalidValue, match="not-an-email@"):
        person_canon(person, default_region="US")


def test_reading_google_shapes() -> None:
    person = Person.model_validate(
        {
            "resourceName": "people/c1",
            "etag": "%E1",
            "names": [
                {"givenName": "Old", "metadata": {"primary": False}},
                {"givenName": "Ann", "familyName": "Lee", "honorificPrefix": "Dr.", "metadata": {"primary": True}},
            ],
            "phoneNumbers": [{"value": "(212) 555-0100", "type": "workMobile", "canonicalForm": "+12125550100"}],
            "addresses": [{"streetAddress": "1 Main St", "city": "Berlin", "country": "Germany", "countryCode": "de"}],
            "biographies": [{"value": "<p>Hi <b>there</b></p>", "contentType": "TEXT_HTML"}],
            "birthdays": [{"date": {"month": 2, "day": 29}, "text": "Feb 29"}],
            "clientData": [{"key": "other", "value": "x"}, {"key": CRM_ID_KEY, "value": "crm-7"}],
            "memberships": [{"contactGroupMembership": {"contactGroupResourceName": "contactGroups/abc"}}],
            "unknownField": [1],
        }
    )
    canon = person_canon(person, default_region="US", group_names={"contactGroups/abc": "VIP"})
    assert (canon["given"], canon["family"], canon["prefix"]) == ("Ann", "Lee", "Dr.")
    assert canon["phones"] == [{"value": "+12125550100", "type": "mobile"}]
    assert canon["addresses"][0]["country"] == "DE"
    assert canon["notes"] == "Hi there"
    assert canon["birthday"] == {"month": 2, "day": 29}
    assert canon["groups"] == ["VIP"]
    assert crm_id_of(person) == "crm-7"
    assert person_canon(person, default_region="US")["groups"] == []  # groups are tags only when asked


def test_body_sends_singletons_once_and_google_types() -> None:
    canon = canonical_contact(
        {
            "given": "Ann",
            "company": "Acme",
            "notes": "n",
            "birthday": {"year": 1990, "month": 1, "day": 2},
            "phones": [{"type": "homeFax", "value": "+1 212 555 0100"}],
            "addresses": [{"type": "home", "city": "Paris", "country": "France"}],
        }
    )
    body = person_body(canon, CONTENT_FIELDS, etag="e1", crm_id="crm-1")
    for singleton in ("names", "biographies", "birthdays", "organizations"):
        assert len(body[singleton]) == 1
    assert body["phoneNumbers"] == [{"value": "+12125550100", "type": "workFax"}]
    assert body["birthdays"] == [{"date": {"year": 1990, "month": 1, "day": 2}}]
    assert body["biographies"] == [{"value": "n", "contentType": "TEXT_PLAIN"}]
    assert body["addresses"] == [{"type": "home", "city": "Paris", "country": "FRANCE"}]
    assert body["emailAddresses"] == []  # in the mask and empty: cleared
    assert body["etag"] == "e1"
    assert body["clientData"] == [{"key": CRM_ID_KEY, "value": "crm-1"}]


def test_update_mask_covers_only_changed_fields() -> None:
    assert person_fields(["given", "family"], groups=False) == ["names"]
    assert person_fields(["title", "phones", "groups"], groups=False) == ["organizations", "phoneNumbers"]
    assert person_fields(["groups"], groups=True) == ["memberships"]
    with pytest.raises(ValueError, match="nickname"):
        person_fields(["nickname"], groups=False)
    body = person_body(canonical_contact({"given": "A", "title": "CEO"}), ["organizations"])
    assert set(body) == {"organizations"}
