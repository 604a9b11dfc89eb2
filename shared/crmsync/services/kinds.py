"""How a run wires each kind (what each kind is: ``model/kinds.py``). One literal table; nothing
registers itself on import."""

from __future__ import annotations

from ..model.kinds import Kind
from .contacts_wiring import wire_contacts
from .events_wiring import wire_events
from .tasks_wiring import wire_tasks
from .wiring import KindFactory

KIND_FACTORIES: dict[Kind, KindFactory] = {
    Kind.CONTACTS: wire_contacts,
    Kind.EVENTS: wire_events,
    Kind.TASKS: wire_tasks,
}
