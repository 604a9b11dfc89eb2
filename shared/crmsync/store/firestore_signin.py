"""The documents of signing in, in Firestore: OAuth states (taken in a transaction), connect-link
nonces (create-if-absent), Google-account claims (a transaction) and token blobs."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from google.cloud import firestore

from . import firestore_io as io
from .claims import GOOGLE_ACCOUNTS, claim_doc, claim_id, claim_is_free, holder_id
from .codec import check_aware, check_doc_id
from .queries import CONNECTIONS, OAUTH_STATES
from .rules import BLOB_FIELD, LINK_NONCES, SECRETS, check_blob, oauth_state_doc, oauth_state_result
from .spec import Meter


class FirestoreSignIn:
    """The sign-in half of FirestoreStore."""

    _client: firestore.Client
    _meter: Meter

    # -- OAuth states and connect-link nonces ----------------------------------------------------------------

    def put_oauth_state(self, state_id: str, data: dict[str, Any], expires_at: datetime) -> None:
        """Store a short-lived OAuth state record (TTL on expires_at)."""
        ref = self._client.collection(OAUTH_STATES).document(check_doc_id("OAuth state id", state_id))
        ref.set(oauth_state_doc(data, expires_at))
        self._meter.commit(writes=1)

    def take_oauth_state(
        self, state_id: str, now: datetime, only_if: Callable[[dict[str, Any]], bool] | None = None
    ) -> dict[str, Any] | None:
        """Return the state and delete it (single use) unless ``only_if(state)`` is False; None if missing
        or expired."""
        ref = self._client.collection(OAUTH_STATES).document(check_doc_id("OAuth state id", state_id))
        now = check_aware("now", now)

        def body(tx: io.Transaction) -> tuple[dict[str, Any] | None, bool]:
            self._meter.gets(1)
            doc = io.get(ref, tx)
            result = oauth_state_result(doc, now)
            take = doc is not None and (result is None or only_if is None or only_if(result))
            if take:
                tx.delete(ref)
            return result, take

        result, taken = io.run_in_transaction(self._client, body)
        self._meter.commit(deletes=int(taken))
        return result

    def claim_google_account(self, subject: str, connection_id: str, now: datetime) -> bool:
        """Make ``connection_id`` the one connection of a Google account, in one transaction; False if
        another live connection holds it (see ``store.claims``)."""
        ref = self._client.collection(GOOGLE_ACCOUNTS).document(claim_id(subject))
        doc = claim_doc(connection_id, now)

        def body(tx: io.Transaction) -> bool:
            claim = io.get(ref, tx)
            holder = holder_id(claim)
            self._meter.gets(2 if holder else 1)
            if not claim_is_free(
                claim,
                io.get(self._client.collection(CONNECTIONS).document(check_doc_id("connection id", holder)), tx)
                if holder
                else None,
                connection_id,
                now,
            ):
                return False
            tx.set(ref, doc)
            return True

        taken = io.run_in_transaction(self._client, body)
        self._meter.commit(writes=int(taken))
        return taken

    def release_google_account(self, subject: str, connection_id: str) -> None:
        """Drop the account's claim if ``connection_id`` holds it."""
        ref = self._client.collection(GOOGLE_ACCOUNTS).document(claim_id(subject))

        def body(tx: io.Transaction) -> bool:
            self._meter.gets(1)
            if holder_id(io.get(ref, tx)) != connection_id:
                return False
            tx.delete(ref)
            return True

        if io.run_in_transaction(self._client, body):
            self._meter.commit(deletes=1)

    def consume_nonce(self, nonce: str, expires_at: datetime) -> bool:
        """Record a nonce; False if it was seen before (create-if-absent)."""
        ref = self._client.collection(LINK_NONCES).document(check_doc_id("nonce", nonce))
        try:
            ref.create({"expires_at": check_aware("expires_at", expires_at)})
        except io.AlreadyExists:
            return False
        self._meter.commit(writes=1)
        return True

    # -- token blobs (CiphertextStore) ------------------------------------------------------------------------

    def _secret(self, connection_id: str) -> io.DocumentReference:
        return self._client.collection(SECRETS).document(check_doc_id("connection id", connection_id))

    def get_blob(self, connection_id: str) -> bytes | None:
        """The encrypted refresh-token blob of a connection, or None."""
        self._meter.gets(1)
        doc = io.get(self._secret(connection_id))
        return None if doc is None else bytes(doc[BLOB_FIELD])

    def put_blob(self, connection_id: str, blob: bytes) -> None:
        """Store (replace) the encrypted refresh-token blob."""
        self._secret(connection_id).set({BLOB_FIELD: check_blob(blob)})
        self._meter.commit(writes=1)

    def delete_blob(self, connection_id: str) -> None:
        """Remove the blob; missing is fine."""
        self._secret(connection_id).delete()
        self._meter.commit(deletes=1)
