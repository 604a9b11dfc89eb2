"""Import this module to make every kind syncable (each wiring module registers itself)."""

from . import contacts_wiring, events_wiring, tasks_wiring

__all__ = ["contacts_wiring", "events_wiring", "tasks_wiring"]
