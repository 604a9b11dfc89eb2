"""LinkStore behaviour, the same for MemoryStore and FirestoreStore (emulator)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from crmsync.model.cursor import Cursor, GooglePlace
from crmsync.model.kinds import Kind
from crmsync.store.contract import StoreError
from tests.integration.store.conftest import AnyStore
from tests.integration.store.helpers import make_link, ops


def test_links_by_crm_round_trips_every_field(store: AnyStore) -> None:
    links = store.connection_store("c1")
    saved = [make_link(str(i), n=i) for i in range(3)]
    links.save_links(saved, [])
    store.counter.counts.clear()

    found = links.links_by_crm(Kind.CONTACTS, ["0", "2", "missing", "2"])

    assert found == {"0": saved[0], "2": saved[2]}
    assert found["2"].synced_at.tzinfo is not None
    assert ops(store.counter.counts) == {"reads": 3, "writes": 0, "deletes": 0, "queries": 0, "commits": 0}


def test_links_are_per_connection_and_kind(store: AnyStore) -> None:
    store.connection_store("c1").save_links([make_link("1")], [])
    store.connection_store("c2").save_links([make_link("1", kind=Kind.TASKS, google_id="t1")], [])

    assert store.connection_store("c2").links_by_crm(Kind.CONTACTS, ["1"]) == {}
    assert list(store.connection_store("c2").links_by_google(Kind.TASKS, ["t1"])) == ["t1"]
    assert store.connection_store("c1").links_by_google(Kind.TASKS, ["t1"]) == {}


def test_links_by_google_queries_30_ids_at_a_time(store: AnyStore) -> None:
    links = store.connection_store("c1")
    links.save_links([make_link(str(i)) for i in range(65)], [])
    store.counter.counts.clear()

    wanted = [f"people/g{i}" for i in range(65)] + ["people/none"]
    found = links.links_by_google(Kind.CONTACTS, wanted)

    assert sorted(found) == sorted(wanted[:-1])
    assert found["people/g7"].crm_id == "7"
    assert ops(store.counter.counts)["queries"] == 3  # 66 ids: 30 + 30 + 6
    assert ops(store.counter.counts)["reads"] == 65


def test_all_links_pages_through_every_link_of_the_kind(store: AnyStore) -> None:
    links = store.connection_store("c1")
    links.scan_page = 4
    links.save_links([make_link(f"{i:02}") for i in range(10)] + [make_link("e1", kind=Kind.EVENTS)], [])
    store.counter.counts.clear()

    got = [link.crm_id for link in links.all_links(Kind.CONTACTS)]

    assert got == [f"{i:02}" for i in range(10)]
    assert ops(store.counter.counts)["queries"] == 3  # pages of 4, 4, 2
    assert ops(store.counter.counts)["reads"] == 10
    assert list(links.all_links(Kind.TASKS)) == []


def test_count_links_is_an_aggregation(store: AnyStore) -> None:
    links = store.connection_store("c1")
    links.save_links([make_link(str(i)) for i in range(7)] + [make_link("t", kind=Kind.TASKS)], [])
    store.counter.counts.clear()

    assert links.count_links(Kind.CONTACTS) == 7
    assert links.count_links(Kind.EVENTS) == 0
    assert ops(store.counter.counts) == {"reads": 2, "writes": 0, "deletes": 0, "queries": 2, "commits": 0}


def test_save_links_upserts_and_deletes(store: AnyStore) -> None:
    links = store.connection_store("c1")
    first = [make_link(str(i)) for i in range(4)]
    links.save_links(first, [])
    store.counter.counts.clear()

    changed = make_link("1", google_id="people/new", n=5)
    links.save_links([changed, make_link("9")], [first[0], first[3]])

    assert links.links_by_crm(Kind.CONTACTS, ["0", "1", "2", "3", "9"]).keys() == {"1", "2", "9"}
    assert links.links_by_google(Kind.CONTACTS, ["people/new"])["people/new"] == changed
    assert store.counter.counts["firestore.commits"] == 1
    assert store.counter.counts["firestore.writes"] == 2
    assert store.counter.counts["firestore.deletes"] == 2


def test_save_links_rejects_a_link_both_saved_and_deleted(store: AnyStore) -> None:
    links = store.connection_store("c1")
    with pytest.raises(StoreError, match="both saved and deleted"):
        links.save_links([make_link("1")], [make_link("1")])
    assert links.count_links(Kind.CONTACTS) == 0


def test_save_links_batches_500_operations_per_commit(store: AnyStore) -> None:
    links = store.connection_store("c1")
    links.save_links([make_link(str(i)) for i in range(1201)], [])

    assert store.counter.counts["firestore.commits"] == 3
    assert store.counter.counts["firestore.writes"] == 1201
    assert links.count_links(Kind.CONTACTS) == 1201
    assert store.counter.counts["firestore.reads"] == 2  # count() of 1,201 index entries


def test_crm_id_that_cannot_be_a_document_id_is_refused(store: AnyStore) -> None:
    links = store.connection_store("c1")
    with pytest.raises(StoreError, match="contains '/'"):
        links.save_links([make_link("a/b")], [])
    with pytest.raises(StoreError, match="non-empty"):
        links.links_by_crm(Kind.CONTACTS, [""])


def test_base_with_an_array_inside_an_array_is_refused(store: AnyStore) -> None:
    link = make_link("1").model_copy(update={"base": {"rows": [[1, 2]]}})
    with pytest.raises(StoreError, match="array directly inside an array"):
        store.connection_store("c1").save_links([link], [])


def test_cursor_defaults_to_full_sync_and_round_trips(store: AnyStore) -> None:
    links = store.connection_store("c1")
    assert links.cursor(Kind.EVENTS) == Cursor(kind=Kind.EVENTS, full_sync=True)

    cursor = Cursor(
        kind=Kind.EVENTS,
        google_token="tok-1",
        crm_cursor="42",
        full_sync=False,
        updated_at=datetime(2026, 3, 1, tzinfo=UTC),
        place=GooglePlace(calendar="primary", written_calendars=("primary",)),
    )
    links.save_cursor(cursor)

    assert links.cursor(Kind.EVENTS) == cursor
    assert links.cursor(Kind.CONTACTS).full_sync is True
    assert store.connection_store("c2").cursor(Kind.EVENTS).google_token is None


def test_naive_datetimes_are_refused(store: AnyStore) -> None:
    cursor = Cursor(kind=Kind.TASKS, updated_at=datetime(2026, 3, 1))
    with pytest.raises(StoreError, match="no time zone"):
        store.connection_store("c1").save_cursor(cursor)
