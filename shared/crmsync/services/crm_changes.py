"""A CRM's change notification (``POST /crm/changes``): a user's records of some kinds changed, so
sync those kinds of that user's connection a few seconds from now (debounced: a burst is one run).

The web route has checked the signature and the timestamp (security/webhooks.py) before this runs.
Here: the body (strict: ``{"id", "user_id", "kinds"}``), the replay check (each delivery id is
accepted once: remembered in the store for longer than the timestamp tolerance), then the
connection's state and the kinds it syncs. A notification only ever asks for a sync, so a sender
may always retry — with a new id."""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from crmsync.model.kinds import Kind
from crmsync.model.state import ConnectionStatus
from crmsync.security.input import BadJson, parse_json
from crmsync.security.webhooks import TOLERANCE
from crmsync.services import debounce
from crmsync.services.admin_config import load_admin_config
from crmsync.services.deps import ChangeNoticePorts
from crmsync.services.errors import FieldProblem, InvalidInput, ServiceError
from crmsync.services.scopes import connection_id_for, granted_kinds

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 16 * 1024
REMEMBER = TOLERANCE * 2  # a delivery id is refused again for this long (past and future tolerance)
# The CRM Sync API's kinds and the crmsync kind each one feeds (a company's name is on its contacts).
CRM_KINDS: Mapping[str, Kind] = {
    "contacts": Kind.CONTACTS,
    "companies": Kind.CONTACTS,
    "activities": Kind.EVENTS,
    "tasks": Kind.TASKS,
}
_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_FIELDS = ("id", "user_id", "kinds")


class Replayed(ServiceError):
    """A delivery id seen before: 409, nothing queued."""

    status = 409
    title = "Notification already received"


@dataclass(frozen=True)
class ChangeNotice:
    """A checked notification."""

    id: str
    user_id: str
    kinds: tuple[Kind, ...]


@dataclass(frozen=True)
class Accepted:
    """What a notification did."""

    id: str
    queued: list[Kind] = field(default_factory=list)
    ignored: str | None = None  # why nothing was queued, in words
    run_in_seconds: float | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "queued": [k.value for k in self.queued],
            "ignored": self.ignored,
            "run_in_seconds": None if self.run_in_seconds is None else round(self.run_in_seconds, 3),
        }


def parse_notice(body: bytes) -> ChangeNotice:
    """The notification in the body, or InvalidInput naming each wrong field."""
    try:
        data = parse_json(body)
    except BadJson as err:
        raise InvalidInput([FieldProblem("", str(err))]) from None
    if not isinstance(data, dict):
        raise InvalidInput([FieldProblem("", 'the body must be a JSON object {"id", "user_id", "kinds"}')])
    problems = [FieldProblem(str(k)[:60], "unknown field") for k in data if k not in _FIELDS]
    problems += [FieldProblem(k, "required") for k in _FIELDS if k not in data]
    nid, user, kinds = data.get("id"), data.get("user_id"), data.get("kinds")
    if "id" in data and not (isinstance(nid, str) and _ID.match(nid)):
        problems.append(FieldProblem("id", "1-128 characters from A-Z a-z 0-9 . _ : - (new for every call)"))
    if "user_id" in data and not (isinstance(user, str) and 0 < len(user) <= 255 and user.strip() == user):
        problems.append(FieldProblem("user_id", "the CRM user id whose records changed (1-255 characters)"))
    if "kinds" in data and not (
        isinstance(kinds, list) and 0 < len(kinds) <= len(CRM_KINDS) and all(k in CRM_KINDS for k in kinds)
    ):
        problems.append(FieldProblem("kinds", f"a non-empty list of {', '.join(CRM_KINDS)}"))
    if problems:
        raise InvalidInput(problems)
    assert isinstance(nid, str) and isinstance(user, str) and isinstance(kinds, list)
    chosen = tuple(k for k in Kind if k in {CRM_KINDS[c] for c in kinds})
    return ChangeNotice(nid, user, chosen)


def _first_delivery(app: ChangeNoticePorts, notice: ChangeNotice, now: datetime) -> bool:
    digest = hashlib.sha256(b"crm-change\x00" + notice.id.encode("utf-8")).hexdigest()
    return app.store.consume_nonce("crmchg_" + digest, now + REMEMBER)


def receive(app: ChangeNoticePorts, body: bytes, now: datetime) -> Accepted:
    """Handle an authentic notification: refuse a replay, else queue a debounced sync of the kinds
    the user's connection syncs (nothing for a user without an active connection)."""
    notice = parse_notice(body)
    if not _first_delivery(app, notice, now):
        raise Replayed(f"notification {notice.id!r} was already received; send each call with a new id")
    connection = app.store.get_connection(connection_id_for(notice.user_id))
    if connection is None or connection.status is ConnectionStatus.DISCONNECTED:
        return Accepted(notice.id, ignored="the user has no connection")
    if connection.status is not ConnectionStatus.ACTIVE:
        return Accepted(notice.id, ignored=f"the connection is {connection.status.value}")
    rules = load_admin_config(app.store)
    if not rules.sync_enabled:
        return Accepted(notice.id, ignored="the administrator paused all syncing")
    granted = granted_kinds(connection.scopes)
    kinds = [k for k in notice.kinds if connection.settings.kind(k).enabled and rules.kinds.on(k) and k in granted]
    if not kinds:
        return Accepted(notice.id, ignored="the connection does not sync these kinds")
    queued = debounce.request_sync(
        app.queue, connection.id, kinds, now, window_seconds=app.config.push_debounce_seconds
    )
    log.info(
        "CRM change notification: %s queued (%s)",
        ",".join(k.value for k in kinds),
        "new run" if queued.enqueued else "joined the run of this window",
        extra={"connection_id": connection.id},
    )
    return Accepted(notice.id, kinds, run_in_seconds=queued.delay_seconds)
