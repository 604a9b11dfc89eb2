"""Small typed helpers over the google-cloud-firestore client (its annotations are loose).

Every client call the stores make goes through here, so the rest of the adapter is
typed and the untyped corners of the library stay in one file.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar, cast

from google.api_core.exceptions import Aborted, AlreadyExists, NotFound
from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter
from google.cloud.firestore_v1.collection import CollectionReference
from google.cloud.firestore_v1.document import DocumentReference
from google.cloud.firestore_v1.transaction import Transaction

from .codec import Doc
from .spec import DOC_NAME, Spec

T = TypeVar("T")

__all__ = [
    "Aborted",
    "AlreadyExists",
    "CollectionReference",
    "DocumentReference",
    "NotFound",
    "Transaction",
    "count",
    "get",
    "get_all",
    "run_in_transaction",
    "stream",
]


def build_query(col: CollectionReference, spec: Spec) -> Any:
    """The client query for a Spec: equality/`in` filters, `<=` bound, order, position, limit."""
    query: Any = col
    for name in spec.query.equality:
        value = spec.equals[name]
        op = "in" if isinstance(value, list) else "=="
        query = query.where(filter=FieldFilter(name, op, value))
    if spec.at_most is not None:
        query = query.where(filter=FieldFilter(spec.query.ordered[0].path, "<=", spec.at_most))
    direction = firestore.Query.DESCENDING if spec.direction == "DESCENDING" else firestore.Query.ASCENDING
    for name in spec.order_fields:
        query = query.order_by(name, direction=direction)
    if spec.after is not None:
        query = query.start_after(dict(zip(spec.order_fields, spec.after, strict=True)))
    if spec.keys_only:
        query = query.select([DOC_NAME])
    elif spec.query.select:
        query = query.select(list(spec.query.select))
    if spec.limit is not None:
        query = query.limit(spec.limit)
    return query


def stream(col: CollectionReference, spec: Spec, transaction: Transaction | None = None) -> list[tuple[str, Doc]]:
    """Run a Spec and return (document id, data) rows."""
    snaps = build_query(col, spec).stream(transaction=transaction)
    return [(str(s.id), cast(Doc, s.to_dict() or {})) for s in snaps]


def count(col: CollectionReference, spec: Spec) -> int:
    """Run a count() aggregation of a Spec's filters."""
    result = build_query(col, spec).count(alias="n").get()
    return int(result[0][0].value)


def get(ref: DocumentReference, transaction: Transaction | None = None) -> Doc | None:
    """One document's data, or None if it does not exist."""
    snap = ref.get(transaction=transaction)
    return cast(Doc, snap.to_dict()) if snap.exists else None


def get_all(client: firestore.Client, refs: Sequence[DocumentReference]) -> Iterator[tuple[str, Doc]]:
    """(id, data) of the refs that exist, read in one BatchGetDocuments call."""
    for snap in client.get_all(list(refs)):
        if snap.exists:
            yield str(snap.id), cast(Doc, snap.to_dict())


TRANSACTION_PATIENCE_S = 30.0  # how long a transaction keeps trying against concurrent writers of its documents


def _lost_to_contention(error: Exception) -> bool:
    """True for the client's "Failed to commit transaction in N attempts" (raised from ``Aborted``) and for
    ``Aborted`` itself (a read inside the transaction that waited too long for a lock)."""
    return isinstance(error, Aborted) or (isinstance(error, ValueError) and isinstance(error.__cause__, Aborted))


def run_in_transaction(
    client: firestore.Client, body: Callable[[Transaction], T], *, patience_s: float = TRANSACTION_PATIENCE_S
) -> T:
    """Run ``body`` in a read-write transaction.

    The client retries a transaction that loses to another one a few times at once, then gives up; Firestore (and
    its emulator, whose locks time out after a few seconds) aborts a transaction that waits too long for a lock.
    Several writers of one document at once, on a loaded machine, exhaust those attempts while the document is
    merely busy, so this tries again, with jittered backoff, until ``patience_s`` has passed; then the last error
    is raised. ``body`` may run several times: it must only read through the transaction and write through it.
    """
    deadline = time.monotonic() + patience_s
    pause = 0.05
    while True:
        try:
            return cast(T, firestore.transactional(body)(client.transaction()))
        except (Aborted, ValueError) as error:
            if not _lost_to_contention(error) or time.monotonic() + pause > deadline:
                raise
        time.sleep(random.uniform(pause / 2, pause))
        pause = min(pause * 2, 2.0)
