"""One run's view of a connection's links and cursors: each cursor is read once.

A run holds the connection's lease, so nothing else writes its cursors meanwhile; the wiring,
the engine and the after-run bookkeeping all ask for the same cursor, and three Firestore reads
per kind and run (at 5-minute polling, most of a quiet run's reads) become one."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

from ..model.cursor import Cursor
from ..model.kinds import Kind
from ..model.link import Link
from ..ports import LinkStore


class RunCursors:
    """A ``LinkStore`` that reads each cursor once and keeps what it saves."""

    def __init__(self, inner: LinkStore) -> None:
        self._inner = inner
        self._cursors: dict[Kind, Cursor] = {}

    def cursor(self, kind: Kind) -> Cursor:
        if kind not in self._cursors:
            self._cursors[kind] = self._inner.cursor(kind)
        return self._cursors[kind].model_copy(deep=True)  # callers mutate their copy, then save it

    def save_cursor(self, cursor: Cursor) -> None:
        self._inner.save_cursor(cursor)
        self._cursors[cursor.kind] = cursor.model_copy(deep=True)

    def links_by_crm(self, kind: Kind, crm_ids: Iterable[str]) -> dict[str, Link]:
        return self._inner.links_by_crm(kind, crm_ids)

    def links_by_google(self, kind: Kind, google_ids: Iterable[str]) -> dict[str, Link]:
        return self._inner.links_by_google(kind, google_ids)

    def all_links(self, kind: Kind) -> Iterator[Link]:
        return self._inner.all_links(kind)

    def count_links(self, kind: Kind) -> int:
        return self._inner.count_links(kind)

    def save_links(self, upserts: Sequence[Link], deletes: Sequence[Link]) -> None:
        self._inner.save_links(upserts, deletes)
