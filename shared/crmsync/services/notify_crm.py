"""Tell the CRM when a connection needs its user (issue 15): Google no longer accepts the grant, a run
stopped before deleting records, a kind stopped by a setting, records failing for more than a day.

The reasons come from the same health the settings page and GET /status show (services/health.py).
Each reason is notified once, until it clears (a reason that comes back later is a new notification):

1. a new reason is recorded on the connection (``Connection.notices``) with a fresh id *before* the CRM
   is called;
2. the CRM is called with that id as the Idempotency-Key; its 2xx marks the notice delivered;
3. a notice not confirmed (a crash between 1 and 2, a lost reply, a CRM error) is sent again with the
   same id after the next run, so the CRM sees one notification, never a second one.

Sent only to a CRM that declares ``notifications: true`` in GET /capabilities. A CRM that fails the
call never fails the sync."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from crmsync.crm.capabilities import CRM_KIND
from crmsync.crm.notifications import Notification, NotificationReason
from crmsync.crm.port import CrmError
from crmsync.model.kinds import Kind
from crmsync.model.state import Connection, ConnectionStatus, Notice
from crmsync.security.links import MAX_LIFETIME, mint_settings_token
from crmsync.services.deps import NotifyPorts
from crmsync.services.health import Action, State
from crmsync.services.scopes import KIND_LABELS, granted_kinds
from crmsync.services.status import StatusView, status_of
from crmsync.services.sync_task import NOTIFY_REASON, SyncTask

log = logging.getLogger(__name__)
FAILING_FOR = timedelta(days=1)
MAX_ATTEMPTS = 50  # runs that try to deliver one notice; then it is left (logged) until the reason clears
_OPEN = "Open Google sync settings"


@dataclass(frozen=True)
class Reason:
    """One thing the user must do, as the CRM is told it."""

    reason: NotificationReason
    kind: Kind | None
    message: str

    @property
    def key(self) -> str:
        return f"{self.reason.value}:{self.kind.value if self.kind else '-'}"


def reasons_of(view: StatusView, now: datetime) -> list[Reason]:
    """What needs the user now, from the connection's health (the same facts as the page)."""
    if view.connection.status is ConnectionStatus.NEEDS_REAUTH:
        return [
            Reason(
                NotificationReason.RECONNECT,
                None,
                f"Google no longer accepts crmsync's access to your account, so nothing syncs. {_OPEN} and "
                "reconnect Google.",
            )
        ]
    if view.connection.status is not ConnectionStatus.ACTIVE:
        return []  # paused by the administrator or disconnected: nothing the user can do
    out: list[Reason] = []
    for h in view.health:
        what = KIND_LABELS[h.kind].lower()
        if h.state is State.NEEDS_RECONNECT:
            message = f"Syncing {what} needs Google access you did not allow. {_OPEN} and reconnect Google."
            out.append(Reason(NotificationReason.RECONNECT, h.kind, message))
        elif h.state is State.STOPPED and h.action is Action.REVIEW_DELETES and h.answer is None:  # not answered yet
            n = h.would_delete_count or len(h.would_delete)
            message = (
                f"Syncing {what} stopped before deleting {n} records, more than usual. Nothing was deleted. "
                f"{_OPEN} to delete them or keep them."
            )
            out.append(Reason(NotificationReason.SAFETY_STOP, h.kind, message))
        elif h.state is State.STOPPED and h.action is Action.CHANGE_SETTING:
            out.append(
                Reason(
                    NotificationReason.KIND_STOPPED,
                    h.kind,
                    f"Syncing {what} stopped: {h.why} {_OPEN} to change the setting.",
                )
            )
        old = [i for i in h.failing if i.since is not None and i.since <= now - FAILING_FOR]
        if old:
            message = f"{len(old)} {what} records have failed to sync for more than a day. {_OPEN} to see why."
            out.append(Reason(NotificationReason.RECORDS_FAILING, h.kind, message))
    return out


def _notice_id(connection: Connection, reason: Reason, since: datetime) -> str:
    digest = hashlib.sha256(f"{connection.id}\x00{reason.key}\x00{since.isoformat()}".encode()).hexdigest()
    return f"ntf-{digest[:32]}"


def _notification(app: NotifyPorts, connection: Connection, notice: Notice, now: datetime) -> Notification:
    link = expires = None
    if app.config.link_signing_key is not None:  # the worker holds it to mint a link; else the CRM mints one
        token = mint_settings_token(app.config.link_signing_key, connection.crm_user_id, MAX_LIFETIME, now)
        link, expires = f"{app.config.base_url}/settings?t={token}", now + MAX_LIFETIME
    return Notification(
        id=notice.id,
        user_id=connection.crm_user_id,
        reason=NotificationReason(notice.reason),
        kind=CRM_KIND[notice.kind] if notice.kind else None,  # type: ignore[arg-type]
        message=notice.message,
        settings_url=f"{app.config.base_url}/settings",
        settings_link=link,
        settings_link_expires_at=expires,
        created_at=notice.since,
    )


def notify_crm(app: NotifyPorts, connection_id: str) -> list[str]:
    """Record the connection's new reasons, forget the cleared ones, and deliver what the CRM has not
    confirmed. Returns the ids delivered now. Never raises for the CRM's sake."""
    connection = app.store.get_connection(connection_id)
    if connection is None:
        return []
    now = app.clock()
    current = {r.key: r for r in reasons_of(status_of(app, connection), now)}
    notices = {k: v for k, v in connection.notices.items() if k in current}  # a cleared reason is forgotten
    for key, reason in current.items():
        if key not in notices:
            since = now
            notices[key] = Notice(
                id=_notice_id(connection, reason, since),
                reason=reason.reason.value,
                kind=reason.kind,
                message=reason.message,
                since=since,
            )
    undelivered = [n for n in notices.values() if n.delivered_at is None and n.attempts < MAX_ATTEMPTS]
    pending = undelivered if undelivered and _offered(app) else []
    if notices != connection.notices or pending:
        for notice in pending:  # written ahead: the id is fixed before the CRM hears of it
            notices[_key(notice)] = notice.model_copy(update={"attempts": notice.attempts + 1})
        app.store.update_connection(connection.id, {"notices": _dump(notices)})
    delivered: list[str] = []
    for notice in pending:
        try:
            app.crm.notify(_notification(app, connection, notice, now))
        except CrmError as err:
            log.warning("could not tell the CRM that %s (%s): %s", notice.reason, notice.kind, err)
            continue
        notices[_key(notice)] = notices[_key(notice)].model_copy(update={"delivered_at": app.clock()})
        delivered.append(notice.id)
    if delivered:
        app.store.update_connection(connection.id, {"notices": _dump(notices)})
        log.info("told the CRM the user is needed: %s", ", ".join(delivered))
    left = [notices[_key(n)] for n in pending if n.id not in delivered]
    if left and connection.status is not ConnectionStatus.ACTIVE:
        _retry_later(app, connection, max(n.attempts for n in left))
    return delivered


def _retry_later(app: NotifyPorts, connection: Connection, attempts: int) -> None:
    """No run comes for a connection that is not active (the fan-out skips it): a delayed task delivers
    what the CRM has not confirmed (backing off to an hour)."""
    name = f"{connection.id}-notify-{attempts}"
    delay = min(3600.0, 30.0 * 2 ** min(attempts, 10))
    payload = SyncTask(connection.id, NOTIFY_REASON, name).body()
    app.queue.enqueue(connection.id, name=name, delay_seconds=delay, payload=payload)


def worth_a_look(connection: Connection, run: dict[str, Any]) -> bool:
    """Whether a finished run may have changed what needs the user. A healthy quiet run of a connection
    with nothing pending costs nothing here: no read, no write, no CRM call."""
    if connection.notices or connection.status is not ConnectionStatus.ACTIVE or run.get("outcome") == "needs_reauth":
        return True
    kinds = run.get("kinds") or {}
    reports = kinds.values() if isinstance(kinds, dict) else kinds
    if any(isinstance(r, dict) and (r.get("stopped") or r.get("errors")) for r in reports):
        return True
    granted = granted_kinds(connection.scopes)
    return any(connection.settings.kind(k).enabled and k not in granted for k in Kind)


def after_run(app: NotifyPorts, connection: Connection, run: dict[str, Any]) -> list[str]:
    """The worker's hook after each run: notify the CRM if the run may have changed what needs the user."""
    if not worth_a_look(connection, run):
        return []
    try:
        return notify_crm(app, connection.id)
    except Exception:  # the sync's outcome stands whatever happens here
        log.exception("telling the CRM what needs the user failed")
        return []


def _key(notice: Notice) -> str:
    return f"{notice.reason}:{notice.kind.value if notice.kind else '-'}"


def _dump(notices: dict[str, Notice]) -> dict[str, Any]:
    return {k: v.model_dump(mode="python") for k, v in notices.items()}


def _offered(app: NotifyPorts) -> bool:
    try:
        return app.crm.capabilities().notifications
    except CrmError as err:
        log.warning("could not read the CRM's capabilities (%s); notifications wait for the next run", err)
        return False
