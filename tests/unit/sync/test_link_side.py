"""A link's per-side state, typed (``link.side(Side.CRM)``), read from the stored shape of today
(flat crm_/google_ fields, "" for a parked side, "unconfirmed" for an unknown one)."""

from __future__ import annotations

import pytest

from crmsync.model.kinds import Side
from crmsync.model.link import Link, LinkSide
from crmsync.sync.plan import Rule

pytestmark = pytest.mark.unit

STORED = {  # a link document as Firestore holds it today
    "kind": "contacts",
    "crm_id": "con_1",
    "google_id": "people/c1",
    "base": {"given": "Anna"},
    "crm_hash": "",
    "google_hash": "81e96efc1885a5e309367066e8269d29",
    "crm_version": 3,
    "google_etag": "%EgUBAi43PRoEAQIFByIM",
    "created_by": "google",
    "synced_at": "2026-11-22T00:00:00Z",
    "crm_held": {},
    "google_held": {"organizer": "anna.home@gmail.example"},
}


def test_today_s_stored_shape_reads_as_typed_sides() -> None:
    link = Link.model_validate(STORED)
    assert link.side(Side.CRM) == LinkSide(Side.CRM, "con_1", None, "3", {}, parked=True)
    assert link.side(Side.GOOGLE) == LinkSide(
        Side.GOOGLE,
        "people/c1",
        "81e96efc1885a5e309367066e8269d29",
        "%EgUBAi43PRoEAQIFByIM",
        {"organizer": "anna.home@gmail.example"},
        parked=False,
    )
    assert link.parked
    assert link.model_dump(mode="json") == STORED  # written back unchanged


def test_an_unconfirmed_side_is_unknown_not_parked() -> None:
    link = Link.model_validate({**STORED, "crm_hash": "unconfirmed"})
    assert link.side(Side.CRM).seen_hash is None
    assert not link.side(Side.CRM).parked and not link.parked


def test_rules_are_named_per_side() -> None:
    assert Rule.on(Side.CRM, "gone_delete") is Rule.CRM_GONE_DELETE
    assert Rule.on(Side.GOOGLE, "changed") == "google_changed"  # reports keep the names they had
