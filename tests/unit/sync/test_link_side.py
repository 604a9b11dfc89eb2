"""A link keeps one typed state per side (``link.crm``, ``link.google``, ``link.side(side)``);
links stored in the previous, flat shape (crm_/google_ fields, "" for a parked side,
"unconfirmed" for an unknown one) are read by the store codec and written back nested."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from crmsync.model.kinds import Side
from crmsync.model.link import LinkSide
from crmsync.store.codec import link_from_doc, link_to_doc
from crmsync.sync.plan import Rule

pytestmark = pytest.mark.unit

SYNCED = datetime(2026, 11, 22, tzinfo=UTC)
FLAT = {  # a link document exactly as the previous release stored it
    "kind": "contacts",
    "crm_id": "con_1",
    "google_id": "people/c1",
    "base": {"given": "Anna"},
    "crm_hash": "",
    "google_hash": "81e96efc1885a5e309367066e8269d29",
    "crm_version": 3,
    "google_etag": "%EgUBAi43PRoEAQIFByIM",
    "created_by": "google",
    "synced_at": SYNCED,
    "google_held": {"organizer": "anna.home@gmail.example"},
}


def test_the_previous_flat_shape_reads_as_typed_sides_and_is_written_back_nested() -> None:
    link = link_from_doc(FLAT, "links/contacts:con_1")
    assert link.side(Side.CRM) == link.crm == LinkSide(id="con_1", version="3", parked=True)
    assert link.side(Side.GOOGLE) == LinkSide(
        id="people/c1",
        seen_hash="81e96efc1885a5e309367066e8269d29",
        version="%EgUBAi43PRoEAQIFByIM",
        held={"organizer": "anna.home@gmail.example"},
    )
    assert (link.crm_id, link.google_id, link.parked) == ("con_1", "people/c1", True)
    assert link_to_doc(link) == {
        "kind": "contacts",
        "base": {"given": "Anna"},
        "created_by": "google",
        "synced_at": SYNCED,
        "crm": {"id": "con_1", "seen_hash": None, "version": "3", "parked": True},
        "google": {
            "id": "people/c1",
            "seen_hash": "81e96efc1885a5e309367066e8269d29",
            "version": "%EgUBAi43PRoEAQIFByIM",
            "parked": False,
            "held": {"organizer": "anna.home@gmail.example"},
        },
        "google_id": "people/c1",  # the field links are looked up by, as before
    }
    assert link_from_doc(link_to_doc(link), "again") == link


def test_an_unconfirmed_side_is_unknown_not_parked() -> None:
    link = link_from_doc({**FLAT, "crm_hash": "unconfirmed"}, "links/contacts:con_1")
    assert link.crm == LinkSide(id="con_1", version="3")
    assert not link.crm.parked and not link.parked


def test_a_parked_side_with_a_hash_cannot_be_represented() -> None:
    with pytest.raises(ValidationError, match="parked side has no last seen hash"):
        LinkSide(id="con_1", seen_hash="81e96efc", parked=True)


def test_rules_are_named_per_side() -> None:
    assert Rule.on(Side.CRM, "gone_delete") is Rule.CRM_GONE_DELETE
    assert Rule.on(Side.GOOGLE, "changed") == "google_changed"  # reports keep the names they had
