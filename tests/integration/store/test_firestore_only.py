"""What only the real Firestore emulator can show: commit sizes on the wire, the stored layout, and
a lease race between two separate clients."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from google.auth.credentials import AnonymousCredentials
from google.cloud import firestore
from google.cloud.firestore_v1.batch import WriteBatch

from crmsync.model.kinds import Kind
from crmsync.model.watch import WatchChannel, token_hash
from crmsync.ports import OpCounter
from crmsync.store.firestore import FirestoreStore
from tests.integration.store.helpers import T0, make_connection, make_link
from tests.support.firestore_emulator import new_firestore_client

pytestmark = pytest.mark.integration


class RecordingBatch(WriteBatch):
    """The library's WriteBatch, noting how many writes each commit sends."""

    sizes: list[int]

    def commit(self, *args: Any, **kwargs: Any) -> Any:
        self.sizes.append(len(self._write_pbs))
        return super().commit(*args, **kwargs)


class RecordingClient(firestore.Client):
    """A real client whose batches record their commit sizes."""

    commit_sizes: list[int]

    def batch(self) -> WriteBatch:
        batch = RecordingBatch(self)
        batch.sizes = self.commit_sizes
        return batch


@pytest.fixture
def recording_client(firestore_emulator_host: str) -> RecordingClient:
    project = new_firestore_client(firestore_emulator_host).project
    client = RecordingClient(project=project, credentials=AnonymousCredentials())  # type: ignore[no-untyped-call]
    client.commit_sizes = []
    return client


def test_a_1201_link_save_sends_three_commits_of_at_most_500(recording_client: RecordingClient) -> None:
    store = FirestoreStore(recording_client, OpCounter())
    links = store.connection_store("c1")

    links.save_links([make_link(str(i)) for i in range(1201)], [])

    assert recording_client.commit_sizes == [500, 500, 201]
    assert links.count_links(Kind.CONTACTS) == 1201
    assert store.counter.counts["firestore.commits"] == 3

    recording_client.commit_sizes.clear()
    links.save_links([make_link(str(i), n=1) for i in range(300)], [make_link(str(i)) for i in range(300, 1000)])
    assert recording_client.commit_sizes == [500, 500]
    assert links.count_links(Kind.CONTACTS) == 501


def test_delete_connection_data_commits_at_most_500(recording_client: RecordingClient) -> None:
    store = FirestoreStore(recording_client)
    store.connection_store("c1").save_links([make_link(str(i)) for i in range(520)], [])
    recording_client.commit_sizes.clear()

    assert store.delete_connection_data("c1") == 520
    assert max(recording_client.commit_sizes) <= 500
    assert sum(recording_client.commit_sizes) == 520 + 4  # links, 3 cursors, the token blob


def test_stored_layout_matches_the_design(firestore_emulator_host: str) -> None:
    client = new_firestore_client(firestore_emulator_host)
    store = FirestoreStore(client)
    store.put_connection(make_connection("c1"))
    store.connection_store("c1").save_links([make_link("42")], [])
    store.append_run("c1", "r1", {"started_at": T0}, expires_at=T0 + timedelta(days=30))
    store.put_oauth_state("s1", {"k": "v"}, expires_at=T0)
    store.consume_nonce("n1", expires_at=T0)
    store.put_blob("c1", b"blob")
    store.put_global_config({"a": 1})

    def raw(path: str) -> dict[str, Any]:
        snap = client.document(path).get()
        assert snap.exists, path
        return snap.to_dict() or {}

    link = raw("connections/c1/links/contacts:42")
    assert set(link) == {"kind", "google_id", "base", "crm", "google", "created_by", "synced_at"}
    assert set(link["crm"]) == {"id", "seen_hash", "version", "parked"}  # "held" only when it holds any
    assert (link["crm"]["id"], link["crm"]["version"], link["crm"]["parked"]) == ("42", "1", False)
    assert link["google_id"] == link["google"]["id"]  # the field links are looked up by
    assert link["kind"] == "contacts"
    assert isinstance(link["synced_at"], datetime)  # a Firestore timestamp, not a string
    assert isinstance(link["base"], dict)
    # A side that could not hold an agreed value: the stand-in is stored, and read back.
    plain = make_link("43")
    lossy = plain.model_copy(update={"crm": plain.crm.model_copy(update={"held": {"company": None}})})
    store.connection_store("c1").save_links([lossy], [])
    assert raw("connections/c1/links/contacts:43")["crm"]["held"] == {"company": None}
    assert "held" not in raw("connections/c1/links/contacts:43")["google"]
    [back] = store.connection_store("c1").links_by_crm(lossy.kind, ["43"]).values()
    assert (back.crm.held, back.google.held) == ({"company": None}, {})
    conn = raw("connections/c1")
    assert conn["status"] == "active"
    assert isinstance(conn["next_sync_at"], datetime)
    assert isinstance(raw("connections/c1/runs/r1")["expires_at"], datetime)  # TTL field
    assert isinstance(raw("oauth_states/s1")["expires_at"], datetime)  # TTL field
    assert isinstance(raw("link_nonces/n1")["expires_at"], datetime)
    assert raw("secrets/c1") == {"refresh_token_blob": b"blob"}
    assert raw("config/global") == {"a": 1}


def test_lease_race_between_two_clients_has_one_winner(firestore_emulator_host: str) -> None:
    first = new_firestore_client(firestore_emulator_host)
    second = new_firestore_client(firestore_emulator_host, project=first.project)
    stores = [FirestoreStore(first), FirestoreStore(second)]
    stores[0].put_connection(make_connection("c1"))
    start = threading.Barrier(2)
    results: dict[str, bool] = {}

    def contend(store: FirestoreStore, holder: str) -> None:
        start.wait()
        results[holder] = store.acquire_lease("c1", holder, timedelta(minutes=5), T0)

    threads = [threading.Thread(target=contend, args=(s, f"worker-{i}")) for i, s in enumerate(stores)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)

    assert sorted(results.values()) == [False, True]
    winner = next(h for h, ok in results.items() if ok)
    conn = stores[1].get_connection("c1")
    assert conn is not None
    assert conn.lease is not None
    assert conn.lease.holder == winner


def test_transactions_wait_out_a_document_held_longer_than_the_clients_own_retries(
    firestore_emulator_host: str,
) -> None:
    """Another process's transaction holds the channel and the connection documents for 12 s, longer than the
    client's five attempts last against the emulator's lock timeout (about 10 s). A push delivery and a lease
    taken meanwhile wait and succeed (they used to raise "Failed to commit transaction in 5 attempts", a 5xx to
    Google and a failed task; seen in CI as racing deliveries of one message raising on a loaded machine)."""
    other = new_firestore_client(firestore_emulator_host)
    store = FirestoreStore(new_firestore_client(firestore_emulator_host, project=other.project))
    store.put_connection(make_connection("c1"))
    store.put_watch_channel(
        WatchChannel(
            id="ch-1",
            connection_id="c1",
            calendar_id="primary",
            resource_id="res-1",
            token_sha256=token_hash("the-token"),
            expires_at=T0 + timedelta(days=7),
            created_at=T0,
        )
    )
    holding = threading.Event()

    @firestore.transactional
    def hold(tx: firestore.Transaction) -> None:
        other.collection("watch_channels").document("ch-1").get(transaction=tx)
        other.collection("connections").document("c1").get(transaction=tx)
        holding.set()
        time.sleep(12)

    holder = threading.Thread(target=lambda: hold(other.transaction()))
    holder.start()
    holding.wait(timeout=30)
    results: dict[str, object] = {}

    def attempt(name: str, call: Callable[[], bool]) -> None:
        try:
            results[name] = call()
        except Exception as error:  # the failure is the finding
            results[name] = f"{type(error).__name__}: {error}"

    calls: dict[str, Callable[[], bool]] = {
        "push": lambda: store.accept_watch_message("ch-1", 3, T0),
        "lease": lambda: store.acquire_lease("c1", "worker-1", timedelta(minutes=5), T0),
    }
    threads = [threading.Thread(target=attempt, args=item) for item in calls.items()]
    for t in threads:
        t.start()
    for t in [*threads, holder]:
        t.join(timeout=90)
    assert results == {"push": True, "lease": True}
