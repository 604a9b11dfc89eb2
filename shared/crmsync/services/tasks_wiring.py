"""How tasks are wired for a run: the CRM's tasks on one side and, on the other,
Google Tasks (creation intents kept next to the links so a crash never
duplicates) or, with ``TaskTarget.CALENDAR``, all-day events of the primary
calendar (idempotent by our event ids; tasks without a due date stay in the CRM)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from ..crm.tasks_side import CrmTasks
from ..google.client import build_service
from ..google.intents import FirestoreIntentStore, IntentStore, MemoryIntentStore
from ..google.pacing import Pacer
from ..google.tasks import GoogleTasks
from ..google.tasks_as_events import CalendarTasks, DueDatedOnly
from ..model.cursor import Cursor
from ..model.field_mapping import MappedFields
from ..model.state import Connection
from ..model.task import TaskTarget, match_keys
from ..ports import OpCounter
from ..store.firestore import FirestoreStore
from .events_wiring import PER_USER_WRITES_PER_MINUTE
from .wiring import KindWiring, RunDeps

_MEMORY_INTENTS: dict[str, MemoryIntentStore] = {}  # local stack without Firestore: per process


def intent_store(deps: RunDeps, connection_id: str, counter: OpCounter) -> IntentStore:
    """Intents live in Firestore beside the links; in memory when the store is in memory."""
    if isinstance(deps.store, FirestoreStore):
        return FirestoreIntentStore(deps.store.client, connection_id, counter=counter)
    return _MEMORY_INTENTS.setdefault(connection_id, MemoryIntentStore(counter))


def wire_tasks(conn: Connection, credentials: Any, deps: RunDeps, cursor: Cursor, counter: OpCounter) -> KindWiring:
    """The task sides of ``conn``: Google Tasks, or Calendar events when that is the target."""
    crm = CrmTasks(deps.crm, conn.id, conn.crm_user_id, conn.settings.tasks, counter)
    if conn.settings.task_options.target is TaskTarget.CALENDAR:
        # Tasks as calendar events carry no custom fields: neither side reads them (one side
        # reading values the other cannot hold would take that for the values being cleared).
        events = CalendarTasks(
            build_service("calendar", credentials, deps.google.endpoint),
            deps.google.endpoint.batch_uri("calendar"),
            connection_id=conn.id,
            counter=counter,
            pacer=Pacer(PER_USER_WRITES_PER_MINUTE),
        )
        return KindWiring(DueDatedOnly(crm), events, match_keys, budget=events.budget, place="calendar")
    mapped = MappedFields(deps.field_mapping.tasks)
    service = build_service("tasks", credentials, deps.google.endpoint)
    google = GoogleTasks(
        service,
        deps.google.endpoint.batch_uri("tasks"),
        options=conn.settings.task_options,
        intents=intent_store(deps, conn.id, counter),
        counter=counter,
        clock=deps.clock,
        mapped=mapped,
    )
    return KindWiring(replace(crm, mapped=mapped), google, match_keys, place="tasks")
