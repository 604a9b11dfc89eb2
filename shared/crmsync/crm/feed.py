"""What every CRM-side record adapter shares: one change-feed paging loop and
one guard that counts CRM calls and maps transient failures."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from ..errors import OperatorError, TransientError
from ..model.settings import KindSettings, OwnerScope
from ..ports import Change as SideChange
from ..ports import OpCounter
from .models import Kind, Record
from .port import Change, CrmAuthError, CrmConnector, CrmTransient

log = logging.getLogger(__name__)
PAGE = 1000


@dataclass(frozen=True)
class FeedRead:
    """What one read of a change feed gave: the entries, the cursor to store once they are applied,
    and whether it was a full read (no cursor, or the CRM refused the cursor and it started over)."""

    entries: list[Change]
    cursor: str | None
    full: bool


@contextmanager
def guard(counter: OpCounter, name: str) -> Iterator[None]:
    """Count one CRM call and map its failures to the engine's errors: a transient one is retried; a
    401/403 (crmsync's API key revoked or rotated, or the CRM user gone) is the operator's to fix —
    the kind stops under a stable alert code, the connection is kept and the user is not asked to
    reconnect anything."""
    counter.add(name)
    try:
        yield
    except CrmTransient as err:
        raise TransientError(f"CRM unavailable: {err}", retry_after=err.retry_after) from err
    except CrmAuthError as err:
        raise refused(err) from err


def refused(err: CrmAuthError) -> OperatorError:
    """The operator alert for a CRM refusing crmsync's API key (401) or the acting user (403)."""
    if err.status == 401:
        return OperatorError(
            f"The CRM refused crmsync's API key ({err}). Your administrator must set the CRM API key again; "
            "syncing resumes by itself after that.",
            alert="crm.api_key_refused",
        )
    return OperatorError(
        f"The CRM refused access for this connection's CRM user ({err}). Your administrator must check that "
        "the user is active in the CRM and that crmsync's API key may act for them.",
        alert="crm.access_refused",
    )


def read_feed(
    connector: CrmConnector,
    kind: Kind,
    token: str | None,
    *,
    crm_user_id: str,
    settings: KindSettings,
    counter: OpCounter,
) -> FeedRead:
    """Every feed entry of ``kind`` after ``token`` (all pages; from the start when None), in the
    user's scope. A cursor the CRM refuses raises ``CrmCursorExpired`` (type ``cursor-expired``, or
    a 400 on ``/cursor``): the run restarts the kind from a full listing of both sides, reconciled
    against its links (services/feed_filters.py)."""
    owner = crm_user_id if settings.owner_scope is OwnerScope.OWNED else None
    cursor, entries = token, list[Change]()
    while True:
        with guard(counter, "crm.changes"):
            page = connector.changes(
                kind, cursor, limit=PAGE, owner_id=owner, tag=settings.crm_tag, on_behalf_of=crm_user_id
            )
        entries.extend(page.items)
        cursor = page.next_cursor
        if not page.has_more:
            return FeedRead(entries, cursor, full=token is None)


def parse_time(value: str | None) -> datetime | None:
    """A CRM timestamp (RFC 3339, ``Z`` allowed) as an aware datetime."""
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


R = TypeVar("R", bound=Record)


def feed_change(entry: Change, record_type: type[R], record_change: Callable[[R], SideChange]) -> SideChange:
    """One feed entry as the engine's ``Change``: a tombstone, a scope exit, or the record."""
    when, version = parse_time(entry.updated_at), str(entry.version)
    if entry.change == "delete":
        return SideChange(entry.id, None, when, version)
    if entry.change == "out_of_scope" or not isinstance(entry.record, record_type):
        return SideChange(entry.id, None, when, version, in_scope=False)
    return record_change(entry.record)
