"""A state store in one local SQLite file: the CLI's default, so a second run is not a first sync again.

It is MemoryStore (same behaviour, limits and operation counts, the same contract suite) over
documents kept in SQLite. Each outermost critical section is one SQLite write transaction
(``BEGIN IMMEDIATE``), so batches are atomic on disk and two processes sharing the file take turns;
the decoded documents are cached in memory and dropped whenever another process has committed
(``PRAGMA data_version``). Values are stored as tagged JSON (datetimes and bytes), never pickled.
"""

from __future__ import annotations

import base64
import json
import os
import sqlite3
import threading
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from crmsync.ports import OpCounter

from .codec import Doc
from .contract import StoreError
from .memory import MemoryStore
from .memory_links import CollectionPath, Documents
from .spec import Spec

_DT, _BYTES = "__crmsync_datetime__", "__crmsync_bytes__"
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS docs (col TEXT NOT NULL, id TEXT NOT NULL, doc TEXT NOT NULL, PRIMARY KEY (col, id))"
)


def _encode(value: Any) -> Any:
    if isinstance(value, datetime):
        return {_DT: value.isoformat()}
    if isinstance(value, bytes):
        return {_BYTES: base64.b64encode(value).decode()}
    if isinstance(value, dict):
        return {k: _encode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_encode(v) for v in value]
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        if len(value) == 1 and _DT in value:
            return datetime.fromisoformat(value[_DT])
        if len(value) == 1 and _BYTES in value:
            return base64.b64decode(value[_BYTES])
        return {k: _decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value


class _Transaction:
    """A re-entrant lock whose outermost hold is one SQLite write transaction."""

    def __init__(self, docs: SqliteDocuments) -> None:
        self._docs = docs
        self._lock = threading.RLock()
        self._depth = 0

    def __enter__(self) -> _Transaction:
        self._lock.acquire()
        self._depth += 1
        if self._depth == 1:
            try:
                self._docs.begin()
            except BaseException:
                self._depth -= 1
                self._lock.release()
                raise
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            if self._depth == 1:
                self._docs.end(commit=exc_type is None)
        finally:
            self._depth -= 1
            self._lock.release()


class SqliteDocuments(Documents):
    """Documents persisted in SQLite, read through an in-memory cache of decoded collections."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))  # refresh-token blobs live here too
        try:
            self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(_SCHEMA)
        except sqlite3.DatabaseError as err:
            raise StoreError(
                f"{path} is not a crmsync state file ({err}); move it away or pick another --state"
            ) from None
        self.path = path
        self._loaded: set[CollectionPath] = set()
        self._seen_version: int | None = None
        self.lock = _Transaction(self)  # type: ignore[assignment]

    # -- transactions (called by _Transaction) -------------------------------------------------------------

    def begin(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")
        version = int(self._db.execute("PRAGMA data_version").fetchone()[0])
        if version != self._seen_version:  # another process committed: the cache may be stale
            self._collections.clear()
            self._loaded.clear()
            self._seen_version = version

    def end(self, commit: bool) -> None:
        if commit:
            self._db.execute("COMMIT")
            return
        self._db.execute("ROLLBACK")
        self._collections.clear()  # the cache may hold what was rolled back
        self._loaded.clear()

    def close(self) -> None:
        self._db.close()

    # -- Documents ------------------------------------------------------------------------------------------

    def _load(self, col: CollectionPath) -> None:
        if col in self._loaded:
            return
        rows = self._db.execute("SELECT id, doc FROM docs WHERE col = ?", ("/".join(col),)).fetchall()
        self._collections[col] = {doc_id: _decode(json.loads(doc)) for doc_id, doc in rows}
        self._loaded.add(col)

    def get(self, col: CollectionPath, doc_id: str) -> Doc | None:
        with self.lock:
            self._load(col)
            return super().get(col, doc_id)

    def set(self, col: CollectionPath, doc_id: str, doc: Doc) -> None:
        with self.lock:
            self._load(col)
            self._db.execute(
                "INSERT OR REPLACE INTO docs (col, id, doc) VALUES (?, ?, ?)",
                ("/".join(col), doc_id, json.dumps(_encode(doc))),
            )
            super().set(col, doc_id, doc)

    def delete(self, col: CollectionPath, doc_id: str) -> bool:
        with self.lock:
            self._load(col)
            self._db.execute("DELETE FROM docs WHERE col = ? AND id = ?", ("/".join(col), doc_id))
            return super().delete(col, doc_id)

    def rows(self, col: CollectionPath) -> list[tuple[str, Doc]]:
        with self.lock:
            self._load(col)
            return super().rows(col)

    def run(self, col: CollectionPath, spec: Spec) -> list[tuple[str, Doc]]:
        with self.lock:
            self._load(col)
            return super().run(col, spec)


class SqliteStore(MemoryStore):
    """MemoryStore's behaviour with its documents in a local SQLite file (kept between processes)."""

    def __init__(self, path: Path, counter: OpCounter | None = None) -> None:
        super().__init__(counter)
        self._file = SqliteDocuments(path)
        self._docs = self._file
        self.path = path

    def close(self) -> None:
        """Close the file (the store is unusable afterwards)."""
        self._file.close()
