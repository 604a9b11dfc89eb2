"""One Google account, one connection: the account claim, the same in every store."""

from __future__ import annotations

import threading
from datetime import timedelta

from crmsync.model.state import ConnectionStatus
from crmsync.store.claims import CLAIM_GRACE
from tests.integration.store.conftest import AnyStore
from tests.integration.store.helpers import T0, make_connection


def test_an_account_claimed_by_a_live_connection_is_refused_to_another(store: AnyStore) -> None:
    store.put_connection(make_connection("c1", google_subject="g1"))
    assert store.claim_google_account("g1", "c1", T0) is True
    assert store.claim_google_account("g1", "c1", T0) is True  # its holder may claim it again (reconnect)
    assert store.claim_google_account("g1", "c2", T0 + timedelta(days=30)) is False
    assert store.claim_google_account("g2", "c2", T0) is True  # another account is free


def test_a_claim_of_a_connect_still_in_flight_holds_for_the_grace_period(store: AnyStore) -> None:
    assert store.claim_google_account("g1", "c1", T0) is True  # c1 not stored yet: its connect is running
    assert store.claim_google_account("g1", "c2", T0 + CLAIM_GRACE - timedelta(seconds=1)) is False
    assert store.claim_google_account("g1", "c2", T0 + CLAIM_GRACE) is True  # c1's connect died


def test_a_disconnected_holder_frees_the_account_and_release_drops_only_ones_own_claim(store: AnyStore) -> None:
    store.put_connection(make_connection("c1", google_subject="g1"))
    assert store.claim_google_account("g1", "c1", T0)
    store.release_google_account("g1", "c2")  # not c2's claim: nothing happens
    assert not store.claim_google_account("g1", "c2", T0)
    store.update_connection("c1", {"status": ConnectionStatus.DISCONNECTED})
    assert store.claim_google_account("g1", "c2", T0)
    store.release_google_account("g1", "c2")
    store.update_connection("c1", {"status": ConnectionStatus.ACTIVE})
    assert store.claim_google_account("g1", "c1", T0)


def test_simultaneous_claims_of_one_account_have_one_winner(store: AnyStore) -> None:
    start = threading.Barrier(6)
    won: list[str] = []

    def claim(cid: str) -> None:
        start.wait()
        if store.claim_google_account("g1", cid, T0):
            won.append(cid)

    threads = [threading.Thread(target=claim, args=(f"c{i}",)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(won) == 1, won
