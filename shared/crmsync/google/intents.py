"""Creation intents: how a Google Tasks create stays idempotent without client ids.

The Tasks API has no place for our CRM id and no client-chosen ids, so before a
batch of inserts the Google side records one intent per task (CRM id, target
list, content hash of what it sends, the watermark generation of the run) and,
once Google answered, the new task's id. A run that crashed between the insert
and saving the link finds the task in its next listing (the watermark did not
move) and the intent names its CRM id, by task id or, when the answer was lost,
by list + content + time; the engine then links instead of creating again.

Stored at ``connections/{id}/intents/{key}`` in Firestore (``FirestoreIntentStore``);
``MemoryIntentStore`` is the fake with the same behaviour.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Protocol, cast

from ..ports import OpCounter

FIRESTORE_BATCH = 500
TTL = timedelta(days=7)  # Firestore TTL policy field ``expires_at``: forgotten intents of idle connections
_PLAIN_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,200}$")


@dataclass(frozen=True)
class Intent:
    """One create about to be (or just) sent to Google."""

    crm_id: str
    list_id: str
    content: str  # content hash of the canonical record sent
    generation: int  # the watermark generation issued by the run's listing
    created_at: datetime
    task_id: str | None = None  # set once Google answered

    def fulfilled(self, task_id: str) -> Intent:
        """The same intent with Google's task id."""
        return replace(self, task_id=task_id)


class IntentStore(Protocol):
    """Creation intents of one connection and kind."""

    def pending(self) -> list[Intent]:
        """Every recorded intent."""
        ...

    def record(self, intents: Sequence[Intent]) -> None:
        """Create or overwrite intents (keyed by CRM id)."""
        ...

    def forget(self, crm_ids: Sequence[str]) -> None:
        """Delete intents (missing ones are ignored)."""
        ...


class MemoryIntentStore:
    """``IntentStore`` in memory, counting reads and writes like the Firestore one."""

    def __init__(self, counter: OpCounter | None = None) -> None:
        self.intents: dict[str, Intent] = {}
        self.counter = counter or OpCounter()

    def pending(self) -> list[Intent]:
        """Every recorded intent (one query; each document returned is a read)."""
        self.counter.add("intents.queries")
        self.counter.add("intents.reads", len(self.intents))
        return list(self.intents.values())

    def record(self, intents: Sequence[Intent]) -> None:
        """Create or overwrite intents."""
        self.counter.add("intents.writes", len(intents))
        for intent in intents:
            self.intents[intent.crm_id] = intent

    def forget(self, crm_ids: Sequence[str]) -> None:
        """Delete intents."""
        self.counter.add("intents.writes", len(crm_ids))
        for crm_id in crm_ids:
            self.intents.pop(crm_id, None)


def doc_id(kind: str, crm_id: str) -> str:
    """A Firestore document id for an intent (CRM ids with unusual characters are hashed)."""
    if _PLAIN_ID.match(crm_id):
        return f"{kind}:{crm_id}"
    return f"{kind}:h-" + hashlib.sha256(crm_id.encode()).hexdigest()[:40]


class FirestoreIntentStore:
    """``IntentStore`` over Firestore documents at ``connections/{id}/intents/{kind}:{crm id}``."""

    def __init__(self, client: Any, connection_id: str, kind: str = "tasks", counter: OpCounter | None = None) -> None:
        self.client = client
        self.kind = kind
        self.col = client.collection("connections").document(connection_id).collection("intents")
        self.counter = counter or OpCounter()

    def pending(self) -> list[Intent]:
        """Every intent of this kind (one query)."""
        from google.cloud.firestore_v1.base_query import FieldFilter

        snaps = list(self.col.where(filter=FieldFilter("kind", "==", self.kind)).stream())
        self.counter.add("intents.queries")
        self.counter.add("intents.reads", max(1, len(snaps)))  # an empty query still bills one read
        out = []
        for snap in snaps:
            data = cast(dict[str, Any], snap.to_dict() or {})
            data.pop("kind", None)
            data.pop("expires_at", None)
            out.append(Intent(**data))
        return out

    def record(self, intents: Sequence[Intent]) -> None:
        """Create or overwrite intents in batched writes of at most 500."""
        for start in range(0, len(intents), FIRESTORE_BATCH):
            batch = self.client.batch()
            part = intents[start : start + FIRESTORE_BATCH]
            for intent in part:
                data = {**asdict(intent), "kind": self.kind, "expires_at": intent.created_at + TTL}
                batch.set(self.col.document(doc_id(self.kind, intent.crm_id)), data)
            batch.commit()
            self.counter.add("intents.writes", len(part))

    def forget(self, crm_ids: Sequence[str]) -> None:
        """Delete intents in batched writes of at most 500."""
        for start in range(0, len(crm_ids), FIRESTORE_BATCH):
            batch = self.client.batch()
            part = crm_ids[start : start + FIRESTORE_BATCH]
            for crm_id in part:
                batch.delete(self.col.document(doc_id(self.kind, crm_id)))
            batch.commit()
            self.counter.add("intents.writes", len(part))
