"""How tasks are wired for a run: Google Tasks on one side, the CRM's tasks on
the other; creation intents kept next to the links so a crash never duplicates."""

from __future__ import annotations

from typing import Any

from ..crm.tasks_side import CrmTasks
from ..google.client import build_service
from ..google.intents import FirestoreIntentStore, IntentStore, MemoryIntentStore
from ..google.tasks import GoogleTasks
from ..model.kinds import Kind
from ..model.state import Connection, Cursor
from ..model.task import match_keys
from ..ports import OpCounter
from ..store.firestore import FirestoreStore
from .run_sync import KindWiring, RunDeps, register_kind

_MEMORY_INTENTS: dict[str, MemoryIntentStore] = {}  # local stack without Firestore: per process


def intent_store(deps: RunDeps, connection_id: str, counter: OpCounter) -> IntentStore:
    """Intents live in Firestore beside the links; in memory when the store is in memory."""
    if isinstance(deps.store, FirestoreStore):
        return FirestoreIntentStore(deps.store.client, connection_id, counter=counter)
    return _MEMORY_INTENTS.setdefault(connection_id, MemoryIntentStore(counter))


def wire_tasks(conn: Connection, credentials: Any, deps: RunDeps, cursor: Cursor, counter: OpCounter) -> KindWiring:
    """The task sides of ``conn`` (Google Tasks as the target)."""
    service = build_service("tasks", credentials, deps.google.endpoint)
    google = GoogleTasks(
        service,
        deps.google.endpoint.batch_uri("tasks"),
        options=conn.settings.task_options,
        intents=intent_store(deps, conn.id, counter),
        counter=counter,
        clock=deps.clock,
    )
    crm = CrmTasks(deps.crm, conn.id, conn.crm_user_id, conn.settings.tasks, counter)
    return KindWiring(crm, google, match_keys)


register_kind(Kind.TASKS, wire_tasks)
