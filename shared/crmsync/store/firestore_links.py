"""Links and cursors of one connection in Firestore: connections/{id}/links and /cursors."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

from google.cloud import firestore

from crmsync.model.cursor import Cursor
from crmsync.model.kinds import Kind
from crmsync.model.link import Link

from . import firestore_io as io
from .codec import cursor_from_doc, cursor_to_doc, link_doc_for, link_from_doc, plan_link_writes
from .contract import GET_ALL_CHUNK, MAX_IN_VALUES, SCAN_PAGE, chunked
from .queries import CONNECTIONS, LINKS, LINKS_BY_GOOGLE_ID, LINKS_OF_KIND
from .rules import CURSORS
from .spec import Meter, Spec, unique


class FirestoreLinkStore:
    """The LinkStore of one connection, backed by Firestore."""

    def __init__(self, client: firestore.Client, connection_id: str, meter: Meter) -> None:
        self._client = client
        self._meter = meter
        self.connection_id = connection_id
        self.scan_page = SCAN_PAGE  # documents per page in all_links
        parent = client.collection(CONNECTIONS).document(connection_id)
        self._links: io.CollectionReference = parent.collection(LINKS)
        self._cursors: io.CollectionReference = parent.collection(CURSORS)

    def links_by_crm(self, kind: Kind, crm_ids: Iterable[str]) -> dict[str, Link]:
        """Links by CRM id (batched gets)."""
        refs = [self._links.document(link_doc_for(kind, i)) for i in unique(crm_ids)]
        found: dict[str, Link] = {}
        for chunk in chunked(refs, GET_ALL_CHUNK):
            self._meter.gets(len(chunk))
            for doc_id, doc in io.get_all(self._client, chunk):
                link = link_from_doc(doc, f"{LINKS}/{doc_id}")
                found[link.crm_id] = link
        return found

    def links_by_google(self, kind: Kind, google_ids: Iterable[str]) -> dict[str, Link]:
        """Links by Google id (one `in` query per 30 ids)."""
        found: dict[str, Link] = {}
        for chunk in chunked(unique(google_ids), MAX_IN_VALUES):
            rows = io.stream(self._links, Spec(LINKS_BY_GOOGLE_ID, {"kind": kind.value, "google_id": list(chunk)}))
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
            rows = io.stream(self._links, spec)
            self._meter.query(len(rows))
            for doc_id, doc in rows:
                yield link_from_doc(doc, f"{LINKS}/{doc_id}")
            if len(rows) < self.scan_page:
                return
            after = (rows[-1][0],)

    def count_links(self, kind: Kind) -> int:
        """How many links of a kind exist (a count() aggregation)."""
        n = io.count(self._links, Spec(LINKS_OF_KIND, {"kind": kind.value}))
        self._meter.aggregation(n)
        return n

    def save_links(self, upserts: Sequence[Link], deletes: Sequence[Link]) -> None:
        """Write links in WriteBatches of at most 500 operations."""
        for batch_ops in plan_link_writes(upserts, deletes):
            batch = self._client.batch()
            for doc_id, doc in batch_ops:
                ref = self._links.document(doc_id)
                if doc is None:
                    batch.delete(ref)
                else:
                    batch.set(ref, doc)
            batch.commit()
            deleted = sum(1 for _, doc in batch_ops if doc is None)
            self._meter.commit(writes=len(batch_ops) - deleted, deletes=deleted)

    def cursor(self, kind: Kind) -> Cursor:
        """The kind's cursor (a fresh one requesting a full sync if none is stored)."""
        self._meter.gets(1)
        doc = io.get(self._cursors.document(kind.value))
        return Cursor(kind=kind) if doc is None else cursor_from_doc(doc, f"{CURSORS}/{kind.value}")

    def save_cursor(self, cursor: Cursor) -> None:
        """Store the kind's cursor."""
        self._cursors.document(cursor.kind.value).set(cursor_to_doc(cursor))
        self._meter.commit(writes=1)
