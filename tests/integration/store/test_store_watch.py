"""Issue 16: Calendar push channels in every store (memory, SQLite, Firestore on its emulator): typed
documents, the connection's listing, and message numbers accepted once and only in increasing order
(what makes a replayed notification change nothing), also when deliveries race."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from crmsync.model.watch import WatchChannel, token_hash
from crmsync.store.contract import StoreError
from tests.integration.store.conftest import AnyStore
from tests.integration.store.helpers import T0, ops


def channel(cid: str = "ch-1", connection: str = "c1", calendar: str = "primary") -> WatchChannel:
    return WatchChannel(
        id=cid,
        connection_id=connection,
        calendar_id=calendar,
        resource_id="res-1",
        token_sha256=token_hash("the-token"),
        expires_at=T0 + timedelta(days=7),
        created_at=T0,
    )


def test_a_channel_is_stored_typed_and_listed_by_connection(store: AnyStore) -> None:
    store.put_watch_channel(channel("ch-1"))
    store.put_watch_channel(channel("ch-2", calendar="team@group.calendar.google.com"))
    store.put_watch_channel(channel("ch-3", connection="c2"))
    got = store.get_watch_channel("ch-1")
    assert got == channel("ch-1")
    assert got is not None and got.token_matches("the-token") and not got.token_matches("the-token ")
    assert sorted(c.id for c in store.watch_channels("c1")) == ["ch-1", "ch-2"]
    assert store.get_watch_channel("nope") is None
    store.delete_watch_channel("ch-1")
    store.delete_watch_channel("ch-1")  # missing is fine
    assert store.get_watch_channel("ch-1") is None
    assert [c.id for c in store.watch_channels("c1")] == ["ch-2"]


def test_message_numbers_are_accepted_once_and_in_order(store: AnyStore) -> None:
    store.put_watch_channel(channel())
    store.counter.counts.clear()
    assert store.accept_watch_message("ch-1", 2, T0) is True
    assert ops(store.counter.counts) == {"reads": 1, "writes": 1, "deletes": 0, "queries": 0, "commits": 1}
    assert store.accept_watch_message("ch-1", 2, T0) is False  # replayed
    assert store.accept_watch_message("ch-1", 1, T0) is False  # older
    assert store.accept_watch_message("ch-1", 5, T0 + timedelta(seconds=1)) is True
    assert store.accept_watch_message("gone", 9, T0) is False
    got = store.get_watch_channel("ch-1")
    assert got is not None and (got.last_message, got.last_message_at) == (5, T0 + timedelta(seconds=1))


def test_racing_deliveries_of_one_message_accept_it_once(store: AnyStore) -> None:
    store.put_watch_channel(channel())
    results: list[bool] = []
    barrier = threading.Barrier(6)

    def deliver() -> None:
        barrier.wait()
        results.append(store.accept_watch_message("ch-1", 3, T0))

    threads = [threading.Thread(target=deliver) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [False] * 5 + [True]


def test_flagging_marks_a_channel_suspect(store: AnyStore) -> None:
    store.put_watch_channel(channel())
    store.flag_watch_channel("ch-1")
    store.flag_watch_channel("gone")  # missing is fine
    got = store.get_watch_channel("ch-1")
    assert got is not None and got.suspect


@pytest.mark.parametrize("number", [0, -1, True, "3"])
def test_bad_message_numbers_are_refused(store: AnyStore, number: object) -> None:
    with pytest.raises(StoreError):
        store.accept_watch_message("ch-1", number, T0)  # type: ignore[arg-type]


def test_bad_ids_are_refused(store: AnyStore) -> None:
    with pytest.raises(StoreError):
        store.get_watch_channel("a/b")
    with pytest.raises(StoreError):
        store.watch_channels("")
