"""The CRM change feed's filters are kept with its cursor: a CRM cursor is bound to the filters
it was issued for (owner, tag, acting user), so when the user changes a kind's CRM tag or owner
scope, that kind starts again from a full listing of both sides, reconciled against its links
(nothing duplicated: linked pairs stay linked, new ones match; nothing deleted: a record that
left the scope is read as out of scope, not as deleted). A cursor the CRM refuses anyway (one
stored before its filters were kept, a CRM restored from a backup) does the same."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from ..crm.port import CrmCursorExpired, CrmValidation
from ..model.cursor import CrmFeed
from ..model.kinds import Kind
from ..model.settings import OwnerScope
from ..model.state import Connection
from ..ports import Change, LinkStore, Listing, RecordSide, WriteOp, WriteResult

log = logging.getLogger(__name__)


def feed_filters(conn: Connection, kind: Kind) -> str:
    """The filters a kind's CRM feed is read with, as stored beside its cursor."""
    settings = conn.settings.kind(kind)
    owner = conn.crm_user_id if settings.owner_scope is OwnerScope.OWNED else None
    return json.dumps({"user": conn.crm_user_id, "owner": owner, "tag": settings.crm_tag}, sort_keys=True)


def restart_feed(links: LinkStore, kind: Kind, filters: str, why: str) -> None:
    """Drop the kind's CRM cursor and list both sides in full next (the links are kept)."""
    cursor = links.cursor(kind)
    cursor.crm_cursor = None
    cursor.full_sync = True
    cursor.crm_feed = CrmFeed(filters=filters, restarting=True)
    links.save_cursor(cursor)
    log.info("%s: %s; listing both sides in full", kind.value, why)


def check_filters(links: LinkStore, kind: Kind, filters: str) -> None:
    """Before a kind runs: if its CRM filters changed since its cursor was stored, start it over.
    A cursor stored before filters were kept is taken as issued for today's filters (a refusal
    by the CRM still restarts it, see ``cursor_refused``)."""
    cursor = links.cursor(kind)
    before = cursor.crm_feed.filters
    if before == filters:
        return
    if before is not None and cursor.crm_cursor is not None:
        restart_feed(links, kind, filters, "the CRM tag or owner scope changed")
        return
    cursor.crm_feed = cursor.crm_feed.model_copy(update={"filters": filters})
    links.save_cursor(cursor)


def cursor_refused(err: BaseException) -> bool:
    """The CRM refused the stored feed cursor: ``410`` type ``urn:crm-sync:problem:cursor-expired``
    (the documented way to say "start over"), or a ``400`` pointing at ``/cursor``."""
    if isinstance(err, CrmCursorExpired):
        return True
    return isinstance(err, CrmValidation) and err.status == 400 and any(e.path == "/cursor" for e in err.errors)


def restarting(links: LinkStore, kind: Kind) -> bool:
    """The kind is listing in full after a filter change (until one of its runs completes)."""
    return links.cursor(kind).crm_feed.restarting


def restart_done(links: LinkStore, kind: Kind) -> None:
    """A complete run after the restart: the CRM cursor stands for the new filters now."""
    cursor = links.cursor(kind)
    if cursor.crm_feed.restarting:
        cursor.crm_feed = cursor.crm_feed.model_copy(update={"restarting": False})
        links.save_cursor(cursor)


class FeedRestart:
    """One run of a kind restarting after its CRM filters changed. The CRM is listed in full once;
    a linked record missing from it but still in the CRM left the scope with the filter change:
    its pair is parked (both sides reported out of scope: link and base kept, nothing written,
    nothing deleted) rather than read as deleted or put through the delete rule; records in the
    new scope are reconciled against their links as usual."""

    def __init__(self, crm: RecordSide, google: RecordSide, links: LinkStore) -> None:
        self.links, self.kind = links, crm.kind
        self.crm, self.google = _Side(crm, self._crm_listing), _Side(google, self._google_listing)
        self._listed: Listing | None = None
        self._left: dict[str, Change] | None = None
        self._partners: set[str] = set()

    def _crm_full(self) -> Listing:
        if self._listed is None:
            listed = self.crm.inner.list_changes(None)
            ids = {c.id for c in listed.changes}
            linked = {lk.crm_id: lk for lk in self.links.all_links(self.kind)}
            missing = sorted(set(linked) - ids)
            found = self.crm.inner.get(missing) if missing else {}
            self._left = {i: replace(ch, in_scope=False) for i, ch in found.items()}
            self._partners = {linked[i].google_id for i in found}
            self._listed = listed
        return self._listed

    def _crm_listing(self, token: str | None) -> Listing:
        listed = self._crm_full()
        return replace(listed, changes=[*listed.changes, *(self._left or {}).values()])

    def _google_listing(self, token: str | None) -> Listing:
        self._crm_full()
        listed = self.google.inner.list_changes(token)
        changes = [replace(c, in_scope=False) if c.id in self._partners else c for c in listed.changes]
        return replace(listed, changes=changes)


class _Side:
    """A side whose listing the restart decides; everything else goes to the side itself."""

    def __init__(self, inner: RecordSide, listing: Callable[[str | None], Listing]) -> None:
        self.inner, self.kind, self._listing = inner, inner.kind, listing

    def __getattr__(self, name: str) -> Any:  # the side's extras (write_chunk, budget, ...)
        return getattr(self.inner, name)

    def list_changes(self, token: str | None) -> Listing:
        return self._listing(token)

    def get(self, ids: Sequence[str]) -> dict[str, Change]:
        return self.inner.get(ids)

    def create(self, ops: Sequence[WriteOp]) -> list[WriteResult]:
        return self.inner.create(ops)

    def update(self, ops: Sequence[WriteOp]) -> list[WriteResult]:
        return self.inner.update(ops)

    def delete(self, ops: Sequence[WriteOp]) -> list[WriteResult]:
        return self.inner.delete(ops)
