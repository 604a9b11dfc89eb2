"""Connection documents, listings and fan-out paging, the same for MemoryStore and FirestoreStore."""

from __future__ import annotations

from datetime import timedelta

import pytest

from crmsync.model.kinds import Kind
from crmsync.model.settings import SyncSettings
from crmsync.model.state import ConnectionStatus
from crmsync.store.contract import ConnectionNotFound, StoreError
from tests.integration.store.conftest import AnyStore
from tests.integration.store.helpers import T0, make_connection, make_link, ops


def test_put_and_get_connection(store: AnyStore) -> None:
    conn = make_connection("c1").model_copy(update={"last_run": {"ok": True, "at": T0}})
    assert store.get_connection("c1") is None

    store.put_connection(conn)

    assert store.get_connection("c1") == conn
    assert ops(store.counter.counts) == {"reads": 2, "writes": 1, "deletes": 0, "queries": 0, "commits": 1}


def test_put_connection_replaces_the_document(store: AnyStore) -> None:
    store.put_connection(make_connection("c1").model_copy(update={"status_reason": "old"}))
    store.put_connection(make_connection("c1"))
    got = store.get_connection("c1")
    assert got is not None
    assert got.status_reason is None


def test_update_connection_sets_validated_fields(store: AnyStore) -> None:
    store.put_connection(make_connection("c1"))
    settings = SyncSettings()

    store.update_connection(
        "c1",
        {
            "status": "needs_reauth",
            "status_reason": "invalid_grant",
            "next_sync_at": T0 + timedelta(hours=1),
            "settings": settings,
        },
    )

    got = store.get_connection("c1")
    assert got is not None
    assert got.status is ConnectionStatus.NEEDS_REAUTH
    assert got.status_reason == "invalid_grant"
    assert got.next_sync_at == T0 + timedelta(hours=1)
    assert got.settings == settings
    assert got.google_email == "c1@example.com"


def test_update_connection_refuses_bad_input(store: AnyStore) -> None:
    store.put_connection(make_connection("c1"))
    with pytest.raises(StoreError, match="cannot update connection field 'colour'"):
        store.update_connection("c1", {"colour": "red"})
    with pytest.raises(StoreError, match="cannot update connection field 'id'"):
        store.update_connection("c1", {"id": "c2"})
    with pytest.raises(StoreError, match="invalid value for status"):
        store.update_connection("c1", {"status": "sleeping"})
    with pytest.raises(ConnectionNotFound):
        store.update_connection("nope", {"status": "paused"})
    with pytest.raises(StoreError, match="contains '/'"):
        store.get_connection("a/b")


def test_find_connection_by_crm_user(store: AnyStore) -> None:
    store.put_connection(make_connection("c1", crm_user_id="u-1"))
    store.put_connection(make_connection("c2", crm_user_id="u-2"))
    store.counter.counts.clear()

    found = store.find_connection_by_crm_user("u-2")

    assert found is not None
    assert found.id == "c2"
    assert store.find_connection_by_crm_user("u-3") is None
    assert ops(store.counter.counts) == {"reads": 2, "writes": 0, "deletes": 0, "queries": 2, "commits": 0}


def test_list_connections_newest_first_with_paging(store: AnyStore) -> None:
    for i in range(5):
        status = ConnectionStatus.PAUSED if i % 2 else ConnectionStatus.ACTIVE
        store.put_connection(make_connection(f"c{i}", status=status, created_at=T0 + timedelta(minutes=i)))

    first = store.list_connections(limit=3)
    second = store.list_connections(limit=3, start_after=first.next_cursor)
    active = store.list_connections(ConnectionStatus.ACTIVE)

    assert [c.id for c in first.items] == ["c4", "c3", "c2"]
    assert first.next_cursor is not None
    assert [c.id for c in second.items] == ["c1", "c0"]
    assert second.next_cursor is None
    assert [c.id for c in active.items] == ["c4", "c2", "c0"]
    assert active.next_cursor is None


def test_list_connections_refuses_a_bad_page_cursor(store: AnyStore) -> None:
    with pytest.raises(StoreError, match="invalid page cursor"):
        store.list_connections(start_after="not-a-cursor")
    with pytest.raises(StoreError, match="limit must be an integer"):
        store.list_connections(limit=0)


def test_due_connections_are_active_and_due_oldest_first(store: AnyStore) -> None:
    store.put_connection(make_connection("late", next_sync_at=T0 + timedelta(minutes=5)))
    store.put_connection(make_connection("early", next_sync_at=T0 - timedelta(hours=1)))
    store.put_connection(make_connection("now", next_sync_at=T0))
    store.put_connection(make_connection("paused", status=ConnectionStatus.PAUSED, next_sync_at=T0 - timedelta(1)))
    store.put_connection(make_connection("never", next_sync_at=None))

    page = store.due_connections(T0, page_size=10)

    assert [c.id for c in page.items] == ["early", "now"]
    assert page.next_cursor is None


def test_due_connections_pages_through_equal_times_without_gaps_or_repeats(store: AnyStore) -> None:
    for i in range(7):
        when = T0 - timedelta(minutes=1 if i < 4 else 2)  # two groups with the same next_sync_at
        store.put_connection(make_connection(f"c{i}", next_sync_at=when))
    store.counter.counts.clear()

    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        page = store.due_connections(T0, page_size=3, start_after=cursor)
        seen += [c.id for c in page.items]
        pages += 1
        cursor = page.next_cursor
        if cursor is None:
            break

    assert seen == ["c4", "c5", "c6", "c0", "c1", "c2", "c3"]
    assert pages == 3
    assert ops(store.counter.counts) == {"reads": 7, "writes": 0, "deletes": 0, "queries": 3, "commits": 0}


def test_due_connections_refuses_a_naive_now(store: AnyStore) -> None:
    with pytest.raises(StoreError, match="no time zone"):
        store.due_connections(T0.replace(tzinfo=None))


def test_delete_connection_data_removes_links_cursors_and_blob(store: AnyStore) -> None:
    store.put_connection(make_connection("c1"))
    links = store.connection_store("c1")
    links.save_links([make_link(str(i)) for i in range(503)] + [make_link("e", kind=Kind.EVENTS)], [])
    links.save_cursor(links.cursor(Kind.CONTACTS).model_copy(update={"google_token": "t", "full_sync": False}))
    store.put_blob("c1", b"sealed")
    store.connection_store("c2").save_links([make_link("x")], [])
    store.counter.counts.clear()

    assert store.delete_connection_data("c1") == 504

    assert links.count_links(Kind.CONTACTS) == 0
    assert links.count_links(Kind.EVENTS) == 0
    assert links.cursor(Kind.CONTACTS).google_token is None
    assert store.get_blob("c1") is None
    assert store.get_connection("c1") is not None  # the document stays (status shows "disconnected")
    assert store.connection_store("c2").count_links(Kind.CONTACTS) == 1
    assert store.counter.counts["firestore.deletes"] == 504 + 4


def test_find_connections_by_google_subject(store: AnyStore) -> None:
    store.put_connection(make_connection("c1", crm_user_id="u-1", google_subject="g-1"))
    store.put_connection(make_connection("c2", crm_user_id="u-2", google_subject="g-1"))
    store.put_connection(make_connection("c3", crm_user_id="u-3", google_subject="g-2"))

    assert {c.id for c in store.find_connections_by_google_subject("g-1")} == {"c1", "c2"}
    assert [c.id for c in store.find_connections_by_google_subject("g-2")] == ["c3"]
    assert store.find_connections_by_google_subject("g-9") == []
    assert len(store.find_connections_by_google_subject("g-1", limit=1)) == 1
    with pytest.raises(StoreError):
        store.find_connections_by_google_subject("")


def test_update_connections_sets_the_fields_of_many_in_one_commit(store: AnyStore) -> None:
    for cid in ("c1", "c2", "c3"):
        store.put_connection(make_connection(cid))
    before = dict(store.counter.counts)
    later = T0 + timedelta(minutes=5)

    store.update_connections({"c1": {"next_sync_at": later}, "c3": {"next_sync_at": later, "quiet_runs": 2}})

    assert store.counter.counts["firestore.commits"] - before["firestore.commits"] == 1
    assert store.counter.counts["firestore.writes"] - before["firestore.writes"] == 2
    got = {cid: store.get_connection(cid) for cid in ("c1", "c2", "c3")}
    assert {cid: (c.next_sync_at, c.quiet_runs) for cid, c in got.items() if c} == {
        "c1": (later, 0),
        "c2": (T0, 0),
        "c3": (later, 2),
    }


def test_due_shards_list_each_due_connection_once_after_the_backfill(store: AnyStore) -> None:
    from crmsync.store.due import DUE_SHARDS

    ids = [f"c{i:02d}" for i in range(12)]
    for i, cid in enumerate(ids):
        store.put_connection(make_connection(cid, next_sync_at=T0 - timedelta(seconds=i)))
    store.put_connection(make_connection("later", next_sync_at=T0 + timedelta(minutes=1)))
    store.put_connection(make_connection("paused", ConnectionStatus.PAUSED))
    for _ in range(5):  # one sweep page covers them all; the marker then says no sweep is due
        if store.backfill_due_shards(T0):
            break
    assert store.due_shards_ready()

    listed = [c.id for shard in range(DUE_SHARDS) for c in store.due_listing(T0, shard).items]

    assert sorted(listed) == ids  # each due, active connection in exactly one shard
