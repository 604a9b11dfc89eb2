"""What a run does when one kind cannot go on (see ``crmsync.google.taxonomy``): the kind is
recorded as stopped (a setting names something gone, the account's admin blocks the API, the
operator must fix the deployment, a safety check) or as waiting for a used-up quota, and the
other kinds go on. A quota hold is kept in the kind's cursor, so the following runs skip the
kind without a call until the quota resets: no hot retry loop, and never a reconnect."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from ..errors import KindStopped, OperatorError, TransientError, quota_wait
from ..model.cursor import Cursor
from ..model.kinds import Kind
from ..ports import LinkStore

log = logging.getLogger(__name__)
MIN_QUOTA_WAIT = timedelta(seconds=60)  # a per-minute quota still used up after the call's retries


def held_until(cursor: Cursor, now: datetime) -> datetime | None:
    """When the kind's quota hold ends, if it holds now."""
    until = cursor.quota_until
    return until if until is not None and until > now else None


def waiting(kind: Kind, until: datetime, why: str) -> dict[str, Any]:
    """The run summary's entry of a kind waiting for a quota."""
    return {
        "kind": kind.value,
        "waiting": f"{why}; {kind.value} syncs again after {until.isoformat(timespec='seconds')}",
        "retry_at": until.isoformat(),
        "complete": False,
    }


def stopped(kind: Kind, err: KindStopped) -> dict[str, Any]:
    """The run summary's entry of a stopped kind; an operator error is also logged as an alert."""
    entry: dict[str, Any] = {"kind": kind.value, "stopped": str(err), "complete": False}
    if err.setting:
        entry["setting"] = err.setting
    if isinstance(err, OperatorError):
        entry["alert"] = err.alert
        log.error(
            "operator action needed (%s): %s",
            err.alert,
            err,
            extra={"alert": err.alert, "kind": kind.value, "connection_kept": True},
        )
    return entry


def hold_for_quota(links: LinkStore, kind: Kind, err: TransientError, now: datetime) -> dict[str, Any] | None:
    """If ``err`` is a used-up quota: keep the kind waiting until it resets and say so; else None."""
    quota = quota_wait(err)
    if quota is None:
        return None
    until = now + max(MIN_QUOTA_WAIT, timedelta(seconds=quota.wait_seconds(now) or 0))
    cursor = links.cursor(kind)
    cursor.quota_until = until
    links.save_cursor(cursor)
    log.warning("%s waits for a used-up Google quota (%s) until %s", kind.value, quota.quota, until.isoformat())
    return waiting(kind, until, f"Google's {quota.quota} is used up")
