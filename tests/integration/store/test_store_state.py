"""Lease, rerun flag, run log, OAuth states, nonces, token blobs and global config, for both stores."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from crmsync.store.contract import ConnectionNotFound, StoreError
from tests.integration.store.conftest import AnyStore
from tests.integration.store.helpers import T0, make_connection, ops

TTL = timedelta(minutes=10)


def test_lease_is_exclusive_until_it_expires(store: AnyStore) -> None:
    store.put_connection(make_connection("c1"))
    store.counter.counts.clear()

    assert store.acquire_lease("c1", "worker-a", TTL, T0) is True
    assert ops(store.counter.counts) == {"reads": 1, "writes": 1, "deletes": 0, "queries": 0, "commits": 1}
    assert store.acquire_lease("c1", "worker-b", TTL, T0 + timedelta(minutes=9)) is False
    assert store.acquire_lease("c1", "worker-a", TTL, T0 + timedelta(minutes=9)) is True  # extends its own
    assert store.acquire_lease("c1", "worker-b", TTL, T0 + timedelta(minutes=18)) is False
    assert store.acquire_lease("c1", "worker-b", TTL, T0 + timedelta(minutes=19)) is True  # a's expired

    conn = store.get_connection("c1")
    assert conn is not None
    assert conn.lease is not None
    assert conn.lease.holder == "worker-b"
    assert conn.lease.expires_at == T0 + timedelta(minutes=29)


def test_release_lease_only_by_its_holder(store: AnyStore) -> None:
    store.put_connection(make_connection("c1"))
    store.acquire_lease("c1", "worker-a", TTL, T0)

    assert store.release_lease("c1", "worker-b") is False
    assert store.acquire_lease("c1", "worker-b", TTL, T0) is False
    assert store.release_lease("c1", "worker-a") is True
    assert store.release_lease("c1", "worker-a") is False
    assert store.acquire_lease("c1", "worker-b", TTL, T0) is True
    assert store.release_lease("missing", "worker-b") is False


def test_lease_refuses_bad_arguments(store: AnyStore) -> None:
    store.put_connection(make_connection("c1"))
    with pytest.raises(ConnectionNotFound):
        store.acquire_lease("missing", "w", TTL, T0)
    with pytest.raises(StoreError, match="positive timedelta"):
        store.acquire_lease("c1", "w", timedelta(0), T0)
    with pytest.raises(StoreError, match="non-empty string"):
        store.acquire_lease("c1", "", TTL, T0)
    with pytest.raises(StoreError, match="no time zone"):
        store.acquire_lease("c1", "w", TTL, T0.replace(tzinfo=None))


def test_lease_race_between_threads_has_one_winner(store: AnyStore) -> None:
    store.put_connection(make_connection("c1"))
    start = threading.Barrier(2)
    results: dict[str, bool] = {}

    def contend(holder: str) -> None:
        start.wait()
        results[holder] = store.acquire_lease("c1", holder, TTL, T0)

    threads = [threading.Thread(target=contend, args=(h,)) for h in ("worker-a", "worker-b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)

    assert sorted(results.values()) == [False, True]
    conn = store.get_connection("c1")
    assert conn is not None
    assert conn.lease is not None
    assert results[conn.lease.holder] is True


def test_rerun_flag_is_taken_once(store: AnyStore) -> None:
    store.put_connection(make_connection("c1"))
    assert store.take_rerun("c1") is False

    store.request_rerun("c1")
    store.request_rerun("c1")

    assert store.take_rerun("c1") is True
    assert store.take_rerun("c1") is False
    assert store.take_rerun("missing") is False
    with pytest.raises(ConnectionNotFound):
        store.request_rerun("missing")


def test_lease_connection_reads_once_and_takes_the_lease_only_when_admitted(store: AnyStore) -> None:
    store.put_connection(make_connection("c1"))
    store.counter.counts.clear()
    refused = store.lease_connection("c1", "worker-a", TTL, T0, admit=lambda conn: False)
    assert refused.connection is not None and refused.connection.id == "c1" and not refused.taken
    assert (store.get_connection("c1") or refused.connection).lease is None
    store.counter.counts.clear()
    leased = store.lease_connection("c1", "worker-a", TTL, T0, admit=lambda conn: conn.id == "c1")
    assert leased.taken and leased.connection is not None
    assert leased.connection.lease is not None and leased.connection.lease.holder == "worker-a"
    assert ops(store.counter.counts) == {"reads": 1, "writes": 1, "deletes": 0, "queries": 0, "commits": 1}
    busy = store.lease_connection("c1", "worker-b", TTL, T0 + timedelta(minutes=9))
    assert not busy.taken and busy.connection is not None and busy.connection.lease is not None
    assert store.lease_connection("c1", "worker-b", TTL, T0 + timedelta(minutes=10)).taken  # a's expired
    missing = store.lease_connection("missing", "worker-a", TTL, T0)
    assert (missing.connection, missing.taken) == (None, False)


def test_finish_run_reports_drops_the_lease_and_takes_the_rerun_in_one_write(store: AnyStore) -> None:
    store.put_connection(make_connection("c1"))
    assert store.lease_connection("c1", "worker-a", TTL, T0).taken
    store.request_rerun("c1")
    store.counter.counts.clear()
    assert store.finish_run("c1", "worker-a", {"quiet_runs": 3}, take_rerun=False) is False
    assert ops(store.counter.counts) == {"reads": 1, "writes": 1, "deletes": 0, "queries": 0, "commits": 1}
    conn = store.get_connection("c1")
    assert conn is not None and conn.lease is None and conn.quiet_runs == 3
    assert store.lease_connection("c1", "worker-b", TTL, T0).taken
    assert store.finish_run("c1", "worker-a", {"quiet_runs": 4}, take_rerun=True) is True  # not a's lease
    conn = store.get_connection("c1")
    assert conn is not None and conn.lease is not None and conn.lease.holder == "worker-b"  # b's lease stays
    assert conn.quiet_runs == 4
    assert store.take_rerun("c1") is False  # taken once
    with pytest.raises(ConnectionNotFound):
        store.finish_run("missing", "worker-a", {"quiet_runs": 1}, take_rerun=True)


def test_run_log_newest_first(store: AnyStore) -> None:
    for i in range(4):
        summary = {"started_at": T0 + timedelta(minutes=i), "counts": {"contacts": {"created": i}}, "errors": []}
        store.append_run("c1", f"run-{i}", summary, expires_at=T0 + timedelta(days=30))
    store.append_run("c2", "other", {"started_at": T0 + timedelta(hours=1)}, expires_at=T0 + timedelta(days=30))
    store.counter.counts.clear()

    runs = store.recent_runs("c1", limit=3)

    assert [r["run_id"] for r in runs] == ["run-3", "run-2", "run-1"]
    assert runs[0]["counts"] == {"contacts": {"created": 3}}
    assert runs[0]["expires_at"] == T0 + timedelta(days=30)
    assert ops(store.counter.counts) == {"reads": 3, "writes": 0, "deletes": 0, "queries": 1, "commits": 0}
    assert store.recent_runs("c3") == []


def test_run_log_needs_started_at(store: AnyStore) -> None:
    with pytest.raises(StoreError, match="started_at"):
        store.append_run("c1", "r1", {"counts": {}}, expires_at=T0)
    with pytest.raises(StoreError, match="no time zone"):
        store.append_run("c1", "r1", {"started_at": T0}, expires_at=T0.replace(tzinfo=None))


def test_oauth_state_is_single_use(store: AnyStore) -> None:
    data = {"crm_user_id": "u-1", "verifier": "v" * 43, "scopes": ["a", "b"]}
    store.put_oauth_state("s1", data, expires_at=T0 + timedelta(minutes=10))
    store.counter.counts.clear()

    assert store.take_oauth_state("s1", now=T0) == data
    assert ops(store.counter.counts) == {"reads": 1, "writes": 0, "deletes": 1, "queries": 0, "commits": 1}
    assert store.take_oauth_state("s1", now=T0) is None
    assert store.take_oauth_state("never", now=T0) is None


def test_expired_oauth_state_is_refused_and_removed(store: AnyStore) -> None:
    store.put_oauth_state("s1", {"x": 1}, expires_at=T0)
    assert store.take_oauth_state("s1", now=T0) is None
    store.put_oauth_state("s1", {"x": 1}, expires_at=T0 + timedelta(seconds=1))
    assert store.take_oauth_state("s1", now=T0) == {"x": 1}


def test_nonce_is_consumed_once(store: AnyStore) -> None:
    assert store.consume_nonce("n-1", expires_at=T0) is True
    assert store.consume_nonce("n-1", expires_at=T0) is False
    assert store.consume_nonce("n-2", expires_at=T0) is True
    with pytest.raises(StoreError, match="nonce"):
        store.consume_nonce("", expires_at=T0)


def test_token_blob_round_trip(store: AnyStore) -> None:
    assert store.get_blob("c1") is None
    store.put_blob("c1", b"v1\x00\xffsealed")
    store.put_blob("c2", b"other")
    assert store.get_blob("c1") == b"v1\x00\xffsealed"

    store.put_blob("c1", b"rotated")
    assert store.get_blob("c1") == b"rotated"
    store.delete_blob("c1")
    store.delete_blob("c1")
    assert store.get_blob("c1") is None
    assert store.get_blob("c2") == b"other"
    with pytest.raises(StoreError, match="non-empty bytes"):
        store.put_blob("c1", "text")  # type: ignore[arg-type]


def test_global_config_round_trip(store: AnyStore) -> None:
    assert store.get_global_config() == {}
    config = {"interval_minutes": 15, "maintenance": False, "quotas": {"calendar_per_min": 500}, "at": T0}
    store.put_global_config(config)
    assert store.get_global_config() == config
    store.put_global_config({"interval_minutes": 30})
    assert store.get_global_config() == {"interval_minutes": 30}


def test_an_oauth_state_refused_by_only_if_stays_for_the_right_caller(store: AnyStore) -> None:
    store.put_oauth_state("s1", {"binding": "browser-a"}, expires_at=T0 + timedelta(minutes=10))

    def ours(binding: str):  # type: ignore[no-untyped-def]
        return lambda record: record.get("binding") == binding

    assert store.take_oauth_state("s1", now=T0, only_if=ours("browser-b")) == {"binding": "browser-a"}
    assert store.take_oauth_state("s1", now=T0, only_if=ours("browser-b")) == {"binding": "browser-a"}  # still there
    assert store.take_oauth_state("s1", now=T0, only_if=ours("browser-a")) == {"binding": "browser-a"}
    assert store.take_oauth_state("s1", now=T0, only_if=ours("browser-a")) is None  # used once
