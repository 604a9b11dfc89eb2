"""Conversions to Firestore values, page cursors, document ids and the billing arithmetic."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from crmsync.model.kinds import Kind
from crmsync.ports import OpCounter
from crmsync.store.codec import (
    check_doc_id,
    connection_fields_to_doc,
    decode_page_cursor,
    encode_page_cursor,
    plan_link_writes,
    to_value,
)
from crmsync.store.contract import StoreError
from crmsync.store.spec import Meter
from tests.integration.store.helpers import make_link

pytestmark = pytest.mark.unit

CET = timezone(timedelta(hours=1))


def test_values_become_what_firestore_stores() -> None:
    value = {
        "kind": Kind.TASKS,
        "when": datetime(2026, 3, 1, 13, 0, tzinfo=CET),
        "tags": frozenset({"b", "a"}),
        "pair": (1, 2),
        "nested": {"ok": [True, None, 1.5, b"x"]},
    }
    assert to_value(value) == {
        "kind": "tasks",
        "when": datetime(2026, 3, 1, 12, 0, tzinfo=UTC),
        "tags": ["a", "b"],
        "pair": [1, 2],
        "nested": {"ok": [True, None, 1.5, b"x"]},
    }
    assert type(to_value(Kind.TASKS)) is str


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"a": [[1]]}, r"value\.a\[0\]: Firestore cannot store an array directly inside an array"),
        ({"a": 2**63}, "does not fit Firestore's 64-bit integers"),
        ({1: "x"}, "map keys must be non-empty strings"),
        ({"a": datetime(2026, 1, 1)}, "has no time zone"),
        ({"a": object()}, "object cannot be stored in Firestore"),
    ],
)
def test_values_firestore_cannot_store_are_refused_with_their_path(value: object, message: str) -> None:
    with pytest.raises(StoreError, match=message):
        to_value(value)


@pytest.mark.parametrize(
    ("doc_id", "message"),
    [("", "non-empty"), ("a/b", "contains '/'"), ("..", "reserved"), ("__x__", "reserved"), ("x" * 1501, "1500")],
)
def test_invalid_document_ids_are_refused(doc_id: str, message: str) -> None:
    with pytest.raises(StoreError, match=message):
        check_doc_id("id", doc_id)


def test_page_cursor_round_trips_and_rejects_junk() -> None:
    when = datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)
    assert decode_page_cursor(encode_page_cursor(when, "c-9")) == (when, "c-9")
    for junk in ("", "%%%", encode_page_cursor(None, "c-9"), "WyIxIl0"):
        with pytest.raises(StoreError, match="invalid page cursor"):
            decode_page_cursor(junk)


def test_connection_field_updates_are_validated_and_converted() -> None:
    doc = connection_fields_to_doc("c1", {"status": "paused", "scopes": ("a",), "rerun_requested": True})
    assert doc == {"status": "paused", "scopes": ["a"], "rerun_requested": True}
    with pytest.raises(StoreError, match="non-empty dict"):
        connection_fields_to_doc("c1", {})


def test_link_writes_are_planned_in_batches_of_500_with_last_upsert_winning() -> None:
    upserts = [make_link(str(i)) for i in range(1000)] + [make_link("0", n=7)]
    batches = plan_link_writes(upserts, [make_link("x1"), make_link("x2")])
    assert [len(b) for b in batches] == [500, 500, 2]
    assert batches[0][0][0] == "contacts:0"
    first = batches[0][0][1]
    assert first is not None
    assert first["crm"]["version"] == "8"
    assert batches[2] == [("contacts:x1", None), ("contacts:x2", None)]


def test_meter_bills_like_firestore() -> None:
    meter = Meter(OpCounter())
    meter.query(0)  # an empty result still costs one read
    meter.aggregation(2500)  # three started blocks of 1,000 index entries
    meter.gets(4)
    meter.commit(writes=3, deletes=2)
    assert meter.counter.counts == {
        "firestore.queries": 2,
        "firestore.reads": 1 + 3 + 4,
        "firestore.commits": 1,
        "firestore.writes": 3,
        "firestore.deletes": 2,
    }
