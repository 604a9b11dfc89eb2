"""Real-world address books (issue 12): an edit in the CRM changes only what was edited in
Google, and numbers keep what was typed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bench.corpus_stack import Stack, stack

pytestmark = pytest.mark.integration

RICH = {
    "names": [{"givenName": "Mei", "familyName": "Chen", "phoneticGivenName": "May", "phoneticFamilyName": "Chun"}],
    "emailAddresses": [{"value": "mei@example.cn", "type": "work"}],
    "phoneNumbers": [
        {"value": "15810139237", "type": "mobile"},
        {"value": "(212) 555-0142", "type": "work"},
        {"value": "+1 212 555 0199", "type": "homeFax"},
    ],
    "organizations": [{"name": "Fantong", "title": "Buyer", "jobDescription": "Buys noodles"}],
    "addresses": [
        {
            "type": "work",
            "poBox": "PO Box 12",
            "streetAddress": "1 Harbour St",
            "extendedAddress": "Level 3",
            "city": "Sydney",
            "postalCode": "2000",
            "countryCode": "AU",
            "country": "Australia",
        }
    ],
}
PLAIN = {
    "names": [{"givenName": "Ben", "familyName": "Okafor"}],
    "emailAddresses": [{"value": "ben@example.org", "type": "home"}],
    "phoneNumbers": [{"value": "+44 20 7946 0958", "type": "home"}],
}
SYNCED_FIELDS = ("names", "emailAddresses", "phoneNumbers", "organizations", "addresses", "biographies", "urls")


def fields(person: dict[str, Any], skip: tuple[str, ...] = ()) -> dict[str, Any]:
    """The content of a Person, without metadata (source ids, update times) or etags."""
    out = {}
    for f in SYNCED_FIELDS:
        if f in skip:
            continue
        out[f] = [{k: v for k, v in item.items() if k != "metadata"} for item in person.get(f) or []]
    return out


def by_email(s: Stack) -> dict[str, Any]:
    return {c.emails[0].value: c for c in s.crm_contacts().values() if c.emails}


def crm_edit(s: Stack, email: str, **patch: Any) -> None:
    record = by_email(s)[email]
    s.crm.update("contacts", record.id, patch, record.version, on_behalf_of=s.crm_user)


def test_crm_edits_change_only_what_was_edited_in_google(emulator: Any, tmp_path: Path) -> None:
    """Point 2: failed on main — B's rename sent ``names`` for A too (a union mask) and rebuilt it
    from the canonical form, so A lost its phonetic names; A's note edit rewrote nothing else."""
    with stack(emulator, tmp_path, region="US") as s:
        rich, plain = s.seed_google_contacts([RICH, PLAIN])
        first = s.sync()
        assert first["kinds"]["contacts"]["errors"] == [], first
        before = s.google_contacts()
        crm_edit(s, "mei@example.cn", notes="Met at the fair")
        crm_edit(s, "ben@example.org", given_name="Benjamin")
        s.sync()
        after = s.google_contacts()
        assert fields(after[rich], skip=("biographies",)) == fields(before[rich], skip=("biographies",))
        assert after[rich]["biographies"][0]["value"] == "Met at the fair"
        assert fields(after[plain], skip=("names",)) == fields(before[plain], skip=("names",))
        assert after[plain]["names"][0]["givenName"] == "Benjamin"


def test_an_edited_item_keeps_what_the_crm_does_not_model(emulator: Any, tmp_path: Path) -> None:
    """Point 2: failed on main — editing the street rebuilt the address from the canonical form
    (PO box, extended address and country name lost) and every phone from E.164 (fax type changed)."""
    with stack(emulator, tmp_path, region="US") as s:
        (rich,) = s.seed_google_contacts([RICH])
        s.sync()
        record = by_email(s)["mei@example.cn"]
        address = {**record.addresses[0].model_dump(), "street": "2 Harbour St"}
        phones = [*(p.model_dump() for p in record.phones), {"type": "home", "value": "+1 415 555 0100"}]
        crm_edit(s, "mei@example.cn", addresses=[address], phones=phones, given_name="Meili")
        s.sync()
        person = s.google_contacts()[rich]
        (addr,) = person["addresses"]
        assert addr["streetAddress"] == "2 Harbour St"
        assert (addr["poBox"], addr["extendedAddress"], addr["country"]) == ("PO Box 12", "Level 3", "Australia")
        assert [(p["value"], p["type"]) for p in person["phoneNumbers"]] == [
            ("15810139237", "mobile"),
            ("(212) 555-0142", "work"),
            ("+1 212 555 0199", "homeFax"),
            ("+1 415 555 0100", "home"),  # as the CRM typed it (point 3)
        ]
        name = person["names"][0]
        assert (name["givenName"], name["phoneticGivenName"], name["phoneticFamilyName"]) == ("Meili", "May", "Chun")
        assert person["organizations"][0]["jobDescription"] == "Buys noodles"


def test_a_number_not_valid_in_the_default_region_keeps_what_was_typed(emulator: Any, tmp_path: Path) -> None:
    """Point 3: failed on main — ``15810139237`` (a Chinese mobile typed without +86) reached the
    CRM as ``+15810139237``."""
    with stack(emulator, tmp_path, region="US") as s:
        s.seed_google_contacts([RICH])
        s.sync()
        phones = {p.value for p in by_email(s)["mei@example.cn"].phones}
        assert "15810139237" in phones
        assert "+15810139237" not in phones


ODD = {
    "names": [{"givenName": "Lena", "familyName": "Park"}],
    "emailAddresses": [{"value": "lena@example.com", "type": "work"}],
    "urls": [{"value": "fantong.com.au", "type": "work"}, {"value": "see my card", "type": "home"}],
    "addresses": [{"type": "home", "streetAddress": "3 Rue Neuve", "city": "Lyon", "country": "France"}],
}


def test_contacts_the_crm_refuses_as_they_are_still_reach_it(emulator: Any, tmp_path: Path) -> None:
    """Point 4: failed on main — a URL without a scheme or a country name made the CRM refuse the
    whole contact ("1 invalid field; see errors", no field named), and it was never retried."""
    with stack(emulator, tmp_path, region="US") as s:
        (odd,) = s.seed_google_contacts([ODD])
        before = s.google_contacts()[odd]
        report = s.sync()["kinds"]["contacts"]
        assert report["errors"] == []
        record = by_email(s)["lena@example.com"]
        assert [u.value for u in record.urls] == ["http://fantong.com.au"]  # adapted
        assert record.addresses[0].country == "FR"  # adapted
        notes = " | ".join(report["notes"])
        assert "/urls/1/value 'see my card' kept out of the CRM: a URL starts with http" in notes  # held, named
        assert "'fantong.com.au' is stored in the CRM as 'http://fantong.com.au'" in notes
        assert "country 'FRANCE' is stored in the CRM as 'FR'" in notes
        for _ in range(2):  # no ping-pong: Google keeps what it had, the CRM what it could take
            again = s.sync()["kinds"]["contacts"]
            assert again["writes"] == {} and again["errors"] == []
        assert fields(s.google_contacts()[odd]) == fields(before)
        # An edit in the CRM still flows, and the held values stay in Google.
        crm_edit(s, "lena@example.com", family_name="Park-Moreau")
        s.sync()
        after = s.google_contacts()[odd]
        assert after["names"][0]["familyName"] == "Park-Moreau"
        assert fields(after, skip=("names",)) == fields(before, skip=("names",))


def test_a_refused_value_is_held_and_named(emulator: Any, tmp_path: Path) -> None:
    """Point 4/7: one odd value (a 30 February birthday) keeps only itself out of the CRM."""
    with stack(emulator, tmp_path, region="US") as s:
        s.seed_google_contacts([{"names": [{"givenName": "Kai"}], "birthdays": [{"date": {"month": 2, "day": 30}}]}])
        report = s.sync()["kinds"]["contacts"]
        assert report["errors"] == [] and "/birthday" in " ".join(report["notes"])
        assert [c.given_name for c in s.crm_contacts().values()] == ["Kai"]


def test_a_refusal_names_the_field_and_the_record_is_retried_until_it_syncs(emulator: Any, tmp_path: Path) -> None:
    """Point 4: failed on main — the error did not name the field, and a contact the CRM refused
    was never sent again (no feed reports it again)."""
    with stack(emulator, tmp_path, region="US") as s:
        s.seed_google_contacts([{"urls": [{"value": "see my card", "type": "work"}]}])
        for _ in range(2):  # refused, named, and sent again next run (not dropped in silence)
            report = s.sync()["kinds"]["contacts"]
            assert len(report["errors"]) == 1
            assert "/urls/0/value" in report["errors"][0] and "a URL starts with http" in report["errors"][0]
        assert report["listed"]["google"] == 0  # no feed reported it again: it was retried from the cursor
        assert s.crm_contacts() == {}


@pytest.mark.parametrize(
    ("region", "typed", "added", "crm_typed"),
    [("US", "(650) 253-0000", "650.253.0001", "(202) 456-1111"), ("DE", "030 1234567", "089 12345678", "0221 123456")],
)
def test_regression_a_valid_national_number_reaches_the_other_side_as_typed(
    emulator: Any, tmp_path: Path, region: str, typed: str, added: str, crm_typed: str
) -> None:
    """Point 3: a valid number typed without its country code reached the other side in E.164
    (``(650) 253-0000`` became ``+16502530000`` in the CRM; the CRM's ``(202) 456-1111`` became
    ``+12024561111`` in Google). The E.164 form is for comparison only: each side gets what was
    typed, on creates and updates, both ways, and nothing ping-pongs or conflicts."""
    with stack(emulator, tmp_path, region=region) as s:
        (gid,) = s.seed_google_contacts(
            [{"names": [{"givenName": "Ida"}], "emailAddresses": [{"value": "ida@example.com"}],
              "phoneNumbers": [{"value": typed, "type": "work"}]}]
        )  # fmt: skip
        s.crm.create(
            "contacts",
            {"given_name": "Jon", "emails": [{"type": "work", "value": "jon@example.com"}],
             "phones": [{"type": "mobile", "value": crm_typed}], "owner_id": s.crm_user},
            "seed-jon", on_behalf_of=s.crm_user,
        )  # fmt: skip
        first = s.sync()["kinds"]["contacts"]
        assert first["errors"] == [] and first["conflicts"] == []
        assert [p.value for p in by_email(s)["ida@example.com"].phones] == [typed]  # Google -> CRM create
        jon = next(p for p in s.google_contacts().values() if p["names"][0].get("givenName") == "Jon")
        assert [p["value"] for p in jon["phoneNumbers"]] == [crm_typed]  # CRM -> Google create
        assert s.sync()["kinds"]["contacts"]["writes"] == {}
        # Updates: Google adds a number to Ida, the CRM adds one to Jon; what was there stays as typed.
        ida = s.google_contacts()[gid]
        s.service("people").people().updateContact(
            resourceName=gid, updatePersonFields="phoneNumbers",
            body={"etag": ida["etag"], "phoneNumbers": [*ida["phoneNumbers"], {"value": added, "type": "home"}]},
        ).execute()  # fmt: skip
        record = by_email(s)["jon@example.com"]
        crm_edit(
            s, "jon@example.com", phones=[*(p.model_dump() for p in record.phones), {"type": "home", "value": added}]
        )
        second = s.sync()["kinds"]["contacts"]
        assert second["errors"] == [] and second["conflicts"] == []
        assert sorted(p.value for p in by_email(s)["ida@example.com"].phones) == sorted([typed, added])
        jon = next(p for p in s.google_contacts().values() if p["names"][0].get("givenName") == "Jon")
        assert sorted(p["value"] for p in jon["phoneNumbers"]) == sorted([crm_typed, added])
        for _ in range(2):
            again = s.sync()["kinds"]["contacts"]
            assert again["writes"] == {} and again["conflicts"] == []
