"""The in-memory documents behind MemoryStore, and the in-memory LinkStore of one connection."""

from __future__ import annotations

import copy
import threading
from collections.abc import Iterable, Iterator, Sequence

from crmsync.model.cursor import Cursor
from crmsync.model.kinds import Kind
from crmsync.model.link import Link

from .codec import Doc, cursor_from_doc, cursor_to_doc, link_doc_for, link_from_doc, plan_link_writes
from .contract import GET_ALL_CHUNK, MAX_IN_VALUES, SCAN_PAGE, chunked
from .queries import CONNECTIONS, LINKS, LINKS_BY_GOOGLE_ID, LINKS_OF_KIND
from .rules import CURSORS
from .spec import Meter, Spec, unique

CollectionPath = tuple[str, ...]  # e.g. ("connections",) or ("connections", "c1", "links")


class Documents:
    """Collections of documents guarded by one lock; reads and writes copy, like a remote store."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self._collections: dict[CollectionPath, dict[str, Doc]] = {}

    def get(self, col: CollectionPath, doc_id: str) -> Doc | None:
        """A copy of one document, or None."""
        with self.lock:
            doc = self._collections.get(col, {}).get(doc_id)
            return copy.deepcopy(doc)

    def set(self, col: CollectionPath, doc_id: str, doc: Doc) -> None:
        """Create or replace one document."""
        with self.lock:
            self._collections.setdefault(col, {})[doc_id] = copy.deepcopy(doc)

    def delete(self, col: CollectionPath, doc_id: str) -> bool:
        """Delete one document; True if it existed."""
        with self.lock:
            return self._collections.get(col, {}).pop(doc_id, None) is not None

    def rows(self, col: CollectionPath) -> list[tuple[str, Doc]]:
        """Copies of every (id, document) of a collection."""
        with self.lock:
            return [(i, copy.deepcopy(d)) for i, d in self._collections.get(col, {}).items()]

    def run(self, col: CollectionPath, spec: Spec) -> list[tuple[str, Doc]]:
        """Evaluate a declared query over a collection (keys-only queries return empty documents)."""
        with self.lock:
            hits = spec.run(self._collections.get(col, {}).items())
            return [(i, {} if spec.keys_only else copy.deepcopy(d)) for i, d in hits]


class MemoryLinkStore:
    """The LinkStore of one connection, in memory, with Firestore's batching and billing."""

    def __init__(self, docs: Documents, connection_id: str, meter: Meter) -> None:
        self._docs = docs
        self._meter = meter
        self.connection_id = connection_id
        self.scan_page = SCAN_PAGE  # documents per page in all_links
        self._links: CollectionPath = (CONNECTIONS, connection_id, LINKS)
        self._cursors: CollectionPath = (CONNECTIONS, connection_id, CURSORS)

    def links_by_crm(self, kind: Kind, crm_ids: Iterable[str]) -> dict[str, Link]:
        """Links by CRM id (batched gets)."""
        doc_ids = [link_doc_for(kind, i) for i in unique(crm_ids)]
        found: dict[str, Link] = {}
        for chunk in chunked(doc_ids, GET_ALL_CHUNK):
            self._meter.gets(len(chunk))
            for doc_id in chunk:
                doc = self._docs.get(self._links, doc_id)
                if doc is not None:
                    link = link_from_doc(doc, f"{LINKS}/{doc_id}")
                    found[link.crm_id] = link
        return found

    def links_by_google(self, kind: Kind, google_ids: Iterable[str]) -> dict[str, Link]:
        """Links by Google id (one `in` query per 30 ids)."""
        found: dict[str, Link] = {}
        for chunk in chunked(unique(google_ids), MAX_IN_VALUES):
            spec = Spec(LINKS_BY_GOOGLE_ID, {"kind": kind.value, "google_id": list(chunk)})
            rows = self._docs.run(self._links, spec)
            self._meter.query(len(rows))
            for doc_id, doc in rows:
                link = link_from_doc(doc, f"{LINKS}/{doc_id}")
                found[link.google_id] = link
        return found

    def all_links(self, kind: Kind) -> Iterator[Link]:
        """Every link of a kind, in document-id order, a page (1,000 links) at a time."""
        after: tuple[str] | None = None
        while True:
            spec = Spec(LINKS_OF_KIND, {"kind": kind.value}, after=after, limit=self.scan_page)
            rows = self._docs.run(self._links, spec)
            self._meter.query(len(rows))
            for doc_id, doc in rows:
                yield link_from_doc(doc, f"{LINKS}/{doc_id}")
            if len(rows) < self.scan_page:
                return
            after = (rows[-1][0],)

    def count_links(self, kind: Kind) -> int:
        """How many links of a kind exist (billed like a count() aggregation)."""
        n = len(self._docs.run(self._links, Spec(LINKS_OF_KIND, {"kind": kind.value}, keys_only=True)))
        self._meter.aggregation(n)
        return n

    def save_links(self, upserts: Sequence[Link], deletes: Sequence[Link]) -> None:
        """Write links in batches of at most 500 operations, each applied atomically."""
        for batch_ops in plan_link_writes(upserts, deletes):
            with self._docs.lock:
                for doc_id, doc in batch_ops:
                    if doc is None:
                        self._docs.delete(self._links, doc_id)
                    else:
                        self._docs.set(self._links, doc_id, doc)
            deleted = sum(1 for _, doc in batch_ops if doc is None)
            self._meter.commit(writes=len(batch_ops) - deleted, deletes=deleted)

    def cursor(self, kind: Kind) -> Cursor:
        """The kind's cursor (a fresh one requesting a full sync if none is stored)."""
        self._meter.gets(1)
        doc = self._docs.get(self._cursors, kind.value)
        return Cursor(kind=kind) if doc is None else cursor_from_doc(doc, f"{CURSORS}/{kind.value}")

    def save_cursor(self, cursor: Cursor) -> None:
        """Store the kind's cursor."""
        self._docs.set(self._cursors, cursor.kind.value, cursor_to_doc(cursor))
        self._meter.commit(writes=1)
