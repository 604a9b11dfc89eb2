"""The documents of signing in, in the in-memory (and SQLite) store: OAuth states, connect-link
nonces, Google-account claims and token blobs; the same documents, checks and counts as Firestore."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from .claims import GOOGLE_ACCOUNTS, claim_doc, claim_id, claim_is_free, holder_id
from .codec import check_aware, check_doc_id
from .memory_links import CollectionPath, Documents
from .queries import CONNECTIONS, OAUTH_STATES
from .rules import BLOB_FIELD, LINK_NONCES, SECRETS, check_blob, oauth_state_doc, oauth_state_result
from .spec import Meter

_CONNECTIONS: CollectionPath = (CONNECTIONS,)


class MemorySignIn:
    """The sign-in half of MemoryStore."""

    _docs: Documents
    _meter: Meter

    # -- OAuth states and connect-link nonces ----------------------------------------------------------------

    def put_oauth_state(self, state_id: str, data: dict[str, Any], expires_at: datetime) -> None:
        """Store a short-lived OAuth state record (TTL on expires_at)."""
        doc = oauth_state_doc(data, expires_at)
        self._docs.set((OAUTH_STATES,), check_doc_id("OAuth state id", state_id), doc)
        self._meter.commit(writes=1)

    def take_oauth_state(
        self, state_id: str, now: datetime, only_if: Callable[[dict[str, Any]], bool] | None = None
    ) -> dict[str, Any] | None:
        """Return the state and delete it (single use) unless ``only_if(state)`` is False; None if missing
        or expired."""
        sid = check_doc_id("OAuth state id", state_id)
        now = check_aware("now", now)
        with self._docs.lock:
            self._meter.gets(1)
            doc = self._docs.get((OAUTH_STATES,), sid)
            result = oauth_state_result(doc, now)
            take = doc is not None and (result is None or only_if is None or only_if(result))
            if take:
                self._docs.delete((OAUTH_STATES,), sid)
        self._meter.commit(deletes=int(take))
        return result

    def claim_google_account(self, subject: str, connection_id: str, now: datetime) -> bool:
        """Make ``connection_id`` the one connection of a Google account, atomically; False if another
        live connection holds it (see ``store.claims``)."""
        key, doc = claim_id(subject), claim_doc(connection_id, now)
        with self._docs.lock:
            claim = self._docs.get((GOOGLE_ACCOUNTS,), key)
            holder = holder_id(claim)
            self._meter.gets(2 if holder else 1)
            if not claim_is_free(claim, self._docs.get(_CONNECTIONS, holder) if holder else None, connection_id, now):
                return False
            self._docs.set((GOOGLE_ACCOUNTS,), key, doc)
        self._meter.commit(writes=1)
        return True

    def release_google_account(self, subject: str, connection_id: str) -> None:
        """Drop the account's claim if ``connection_id`` holds it."""
        key = claim_id(subject)
        with self._docs.lock:
            self._meter.gets(1)
            if holder_id(self._docs.get((GOOGLE_ACCOUNTS,), key)) == connection_id:
                self._docs.delete((GOOGLE_ACCOUNTS,), key)
                self._meter.commit(deletes=1)

    def consume_nonce(self, nonce: str, expires_at: datetime) -> bool:
        """Record a nonce; False if it was seen before (create-if-absent)."""
        key = check_doc_id("nonce", nonce)
        doc = {"expires_at": check_aware("expires_at", expires_at)}
        with self._docs.lock:
            if self._docs.get((LINK_NONCES,), key) is not None:
                return False
            self._docs.set((LINK_NONCES,), key, doc)
        self._meter.commit(writes=1)
        return True

    # -- token blobs (CiphertextStore) ------------------------------------------------------------------------

    def get_blob(self, connection_id: str) -> bytes | None:
        """The encrypted refresh-token blob of a connection, or None."""
        self._meter.gets(1)
        doc = self._docs.get((SECRETS,), check_doc_id("connection id", connection_id))
        return None if doc is None else bytes(doc[BLOB_FIELD])

    def put_blob(self, connection_id: str, blob: bytes) -> None:
        """Store (replace) the encrypted refresh-token blob."""
        self._docs.set((SECRETS,), check_doc_id("connection id", connection_id), {BLOB_FIELD: check_blob(blob)})
        self._meter.commit(writes=1)

    def delete_blob(self, connection_id: str) -> None:
        """Remove the blob; missing is fine."""
        self._docs.delete((SECRETS,), check_doc_id("connection id", connection_id))
        self._meter.commit(deletes=1)
