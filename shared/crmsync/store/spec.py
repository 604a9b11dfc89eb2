"""One concrete run of a declared query: values for its filters, a page position and a limit.

The Firestore adapter translates a Spec into a client query; the in-memory fake evaluates
the same Spec over its documents with Firestore's semantics, so both return the same rows.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from crmsync.ports import OpCounter

from .contract import COMMITS, COUNT_ENTRIES_PER_READ, DELETES, QUERIES, READS, WRITES, StoreError
from .queries import Query

DOC_NAME = "__name__"


@dataclass(frozen=True)
class Spec:
    """Filters and paging for one declared query. A list value in ``equals`` becomes an `in` filter."""

    query: Query
    equals: dict[str, Any]
    at_most: Any = None  # `<=` on the first ordered field
    after: tuple[Any, ...] | None = None  # values of the ordered fields, then the document id
    limit: int | None = None
    keys_only: bool = False
    direction: str = field(init=False)

    def __post_init__(self) -> None:
        if set(self.equals) != set(self.query.equality):
            raise StoreError(f"query {self.query.name} filters on {self.query.equality}, got {sorted(self.equals)}")
        if self.at_most is not None and not self.query.ordered:
            raise StoreError(f"query {self.query.name} has no ordered field to bound")
        directions = {f.order for f in self.query.ordered} or {"ASCENDING"}
        if len(directions) != 1:
            raise StoreError(f"query {self.query.name}: mixed sort directions are not supported")
        if self.after is not None and len(self.after) != len(self.query.ordered) + 1:
            raise StoreError(f"query {self.query.name}: a page position needs one value per ordered field and an id")
        object.__setattr__(self, "direction", directions.pop())

    @property
    def order_fields(self) -> list[str]:
        """The fields the rows are sorted by, the document id last (as Firestore does implicitly)."""
        return [f.path for f in self.query.ordered] + [DOC_NAME]

    def matches(self, doc: dict[str, Any]) -> bool:
        """Whether a stored document passes the filters (Firestore semantics: missing fields never match)."""
        for name, wanted in self.equals.items():
            if name not in doc:
                return False
            if isinstance(wanted, list):
                if doc[name] not in wanted:
                    return False
            elif doc[name] != wanted:
                return False
        for f in self.query.ordered:
            if f.path not in doc:
                return False
        if self.at_most is not None:
            value = doc[self.query.ordered[0].path]
            if value is None or type(value) is not type(self.at_most) or value > self.at_most:
                return False
        return True

    def sort_key(self, doc_id: str, doc: dict[str, Any]) -> tuple[Any, ...]:
        """A key that sorts rows in the query's order (ascending; reverse for descending); nulls first."""
        parts: list[Any] = []
        for f in self.query.ordered:
            value = doc[f.path]
            parts.append((0, 0) if value is None else (1, value))
        parts.append((1, doc_id))
        return tuple(parts)

    def position_key(self) -> tuple[Any, ...] | None:
        """The sort key of the ``after`` position."""
        if self.after is None:
            return None
        *values, doc_id = self.after
        return self.sort_key(doc_id, dict(zip([f.path for f in self.query.ordered], values, strict=True)))

    def run(self, rows: Iterable[tuple[str, dict[str, Any]]]) -> list[tuple[str, dict[str, Any]]]:
        """Evaluate the query over (id, doc) rows of one collection."""
        hits = [(i, d) for i, d in rows if self.matches(d)]
        descending = self.direction == "DESCENDING"
        hits.sort(key=lambda row: self.sort_key(*row), reverse=descending)
        position = self.position_key()
        if position is not None:
            hits = [r for r in hits if (self.sort_key(*r) < position if descending else self.sort_key(*r) > position)]
        hits = hits[: self.limit] if self.limit is not None else hits
        if self.query.select:
            return [(i, project(d, self.query.select)) for i, d in hits]
        return hits


def project(doc: dict[str, Any], paths: Sequence[str]) -> dict[str, Any]:
    """Only the given (dotted) field paths of a document, nested as Firestore returns a projection."""
    out: dict[str, Any] = {}
    for path in paths:
        names = path.split(".")
        value: Any = doc
        for name in names:
            if not isinstance(value, dict) or name not in value:
                break
            value = value[name]
        else:
            target = out
            for name in names[:-1]:
                target = target.setdefault(name, {})
            target[names[-1]] = value
    return out


_COUNTER_LOCK = threading.Lock()  # OpCounter is a plain dict; several stores may share one


class Meter:
    """Counts operations the way Firestore bills them, safely across threads."""

    def __init__(self, counter: OpCounter | None) -> None:
        self.counter = counter if counter is not None else OpCounter()

    def add(self, name: str, n: int = 1) -> None:
        """Add ``n`` to one counter."""
        with _COUNTER_LOCK:
            self.counter.add(name, n)

    def gets(self, n: int) -> None:
        """Direct document reads (one per document, found or not)."""
        self.add(READS, n)

    def query(self, returned: int) -> None:
        """A query: one read per document returned, at least one."""
        self.add(QUERIES)
        self.add(READS, max(returned, 1))

    def aggregation(self, entries: int) -> None:
        """A count(): one read per started 1,000 index entries, at least one."""
        self.add(QUERIES)
        self.add(READS, max(1, -(-entries // COUNT_ENTRIES_PER_READ)))

    def commit(self, writes: int = 0, deletes: int = 0) -> None:
        """One Commit RPC (a batch, a transaction or a single-document write)."""
        self.add(COMMITS)
        if writes:
            self.add(WRITES, writes)
        if deletes:
            self.add(DELETES, deletes)


def unique(values: Iterable[str]) -> list[str]:
    """The values without repeats, in first-seen order."""
    return list(dict.fromkeys(values))


def flatten(chunks: Sequence[Sequence[Any]]) -> list[Any]:
    """Concatenate chunks."""
    return [item for chunk in chunks for item in chunk]
