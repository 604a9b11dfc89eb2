"""CRM tasks as Calendar events: ids, the canonical task of an event, request bodies.

A task is an all-day event on its due date. Completion lives in the summary (a
"✓ " prefix, which a person can add or remove in Google) and in the event's
private extended properties (status, completion instant, and a digest of the
summary we last wrote). While the summary is the one we wrote, the properties
say the status; once a person edits it, the prefix does (a completion made in
Google has no known instant: ``completed`` is None and the CRM stamps it).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

from ..model import normalise as n
from ..model.link import Canon
from ..model.task import COMPLETED, NEEDS_ACTION, canonical_task
from .calendar_mapping import CONNECTION_PROP, UID_DOMAIN

CHECK = "✓"
TASK_ID_PROP = "crmsyncTaskId"  # not the events' CRM id property: the event sync must not take tasks for activities
STATUS_PROP = "crmsyncStatus"
COMPLETED_PROP = "crmsyncCompleted"
SUMMARY_PROP = "crmsyncSummary"
Event = dict[str, Any]


def task_event_id(connection_id: str, crm_id: str) -> str:
    """Our deterministic event id for CRM task ``crm_id``: base32hex (a-v0-9) of a hash."""
    digest = hashlib.sha256(f"{connection_id}|tasks|{crm_id}".encode()).digest()[:20]
    return base64.b32hexencode(digest).decode().rstrip("=").lower()


def _props(ev: Mapping[str, Any]) -> dict[str, Any]:
    props = (ev.get("extendedProperties") or {}).get("private") or {}
    return props if isinstance(props, dict) else {}


def task_crm_id(ev: Mapping[str, Any], connection_id: str) -> str | None:
    """The CRM task id our writes stored in the event (None for anyone else's event)."""
    props = _props(ev)
    if props.get(CONNECTION_PROP) != connection_id:
        return None
    value = props.get(TASK_ID_PROP)
    return str(value) if value else None


def summary_of(canon: Mapping[str, Any]) -> str:
    """The event summary of a canonical task (completed ones carry the check mark)."""
    title = str(canon.get("title") or "")
    return f"{CHECK} {title}" if canon.get("status") == COMPLETED else title


def _digest(summary: Any) -> str:
    return hashlib.sha256((n.text(summary) or "").encode()).hexdigest()[:16]


def _due(ev: Mapping[str, Any]) -> str | None:
    start = ev.get("start") or {}
    return str(start.get("date") or start.get("dateTime") or "") or None


def task_raw(ev: Mapping[str, Any]) -> dict[str, Any]:
    """The raw task dict (see ``canonical_task``) an event stands for."""
    props = _props(ev)
    summary = n.text(ev.get("summary")) or ""
    prefixed = summary.startswith(CHECK)
    bare = summary[len(CHECK) :].strip() if prefixed else summary
    if props.get(SUMMARY_PROP) == _digest(summary) and props.get(STATUS_PROP) in (COMPLETED, NEEDS_ACTION):
        done = props[STATUS_PROP] == COMPLETED  # our own write, untouched: a title may start with ✓ itself
        title = bare if done else summary
    else:
        done, title = prefixed, bare  # a person edited the summary: the check mark says it
    known = props.get(STATUS_PROP) == COMPLETED and props.get(COMPLETED_PROP)
    return {
        "title": title,
        "notes": ev.get("description"),
        "due": _due(ev),
        "status": COMPLETED if done else NEEDS_ACTION,
        "completed": props.get(COMPLETED_PROP) if done and known else None,
    }


def event_task_canon(ev: Mapping[str, Any]) -> Canon:
    """The canonical task of an event; raises ``normalise.InvalidValue`` (e.g. no title)."""
    return canonical_task(task_raw(ev))


def all_day(due_date: str) -> tuple[dict[str, str], dict[str, str]]:
    """Start and (exclusive) end of the all-day event on ``due_date``."""
    day = date.fromisoformat(due_date)
    return {"date": day.isoformat()}, {"date": (day + timedelta(days=1)).isoformat()}


def status_props(full: Mapping[str, Any]) -> dict[str, str | None]:
    """The private properties that keep a task's completion (None clears one in a PATCH)."""
    done = full.get("status") == COMPLETED
    return {
        STATUS_PROP: COMPLETED if done else NEEDS_ACTION,
        COMPLETED_PROP: str(full["completed"]) if done and full.get("completed") else None,
        SUMMARY_PROP: _digest(summary_of(full)),
    }


def patch_body(fields: Canon, full: Canon, crm_id: str | None = None, connection_id: str | None = None) -> Event:
    """The PATCH body for changed canonical ``fields`` of ``full`` (a cleared due date keeps the event's day);
    with ``crm_id``, the event carries that CRM task id from now on (its pair was re-created in the CRM)."""
    body: Event = {}
    if fields.keys() & {"title", "status", "completed"}:
        body["summary"] = summary_of(full)
        body["extendedProperties"] = {"private": status_props(full)}
    if crm_id is not None:
        private = (body.get("extendedProperties") or {}).get("private") or {}
        body["extendedProperties"] = {"private": {**private, TASK_ID_PROP: crm_id, CONNECTION_PROP: connection_id}}
    if "notes" in fields:
        body["description"] = full.get("notes")
    if "due_date" in fields and full.get("due_date"):
        body["start"], body["end"] = all_day(str(full["due_date"]))
    return body


def insert_body(full: Canon, eid: str, crm_id: str, connection_id: str) -> Event:
    """The events.insert body: an all-day, free (transparent) event with our id and properties."""
    start, end = all_day(str(full["due_date"]))
    props = {k: v for k, v in status_props(full).items() if v is not None}
    body: Event = {
        "id": eid,
        "iCalUID": eid + UID_DOMAIN,  # the event sync leaves crmsync's events of other kinds alone
        "summary": summary_of(full),
        "start": start,
        "end": end,
        "transparency": "transparent",  # a due date does not make the day busy
        "extendedProperties": {"private": {TASK_ID_PROP: crm_id, CONNECTION_PROP: connection_id, **props}},
    }
    if full.get("notes"):
        body["description"] = full["notes"]
    return body
