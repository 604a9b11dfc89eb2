"""SQLite for the reference CRM: schema, a small connection pool, read and write transactions.

Writers use ``BEGIN IMMEDIATE``, so they are serialised and the commit sequence
they draw inside the transaction is the commit order. Readers in WAL mode see a
consistent snapshot, so a feed reader can never see sequence N+1 without N.
"""

from __future__ import annotations

import queue
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT OR IGNORE INTO meta VALUES ('seq', 0), ('schema', 1);
CREATE TABLE IF NOT EXISTS users (
  id TEXT PRIMARY KEY, email TEXT NOT NULL, email_lc TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL, role TEXT NOT NULL, active INTEGER NOT NULL DEFAULT 1
);
CREATE TABLE IF NOT EXISTS records (
  kind TEXT NOT NULL, id TEXT NOT NULL, seq INTEGER NOT NULL, version INTEGER NOT NULL,
  deleted INTEGER NOT NULL DEFAULT 0, data TEXT NOT NULL, keys TEXT NOT NULL,
  created_at TEXT NOT NULL, updated_at TEXT NOT NULL, lookup TEXT,
  PRIMARY KEY (kind, id)
) WITHOUT ROWID;
CREATE UNIQUE INDEX IF NOT EXISTS records_feed ON records (kind, seq);
CREATE INDEX IF NOT EXISTS records_lookup ON records (kind, lookup) WHERE lookup IS NOT NULL;
-- Every scope key a record ever had (owner, tag, attendee): a record that leaves a
-- filtered feed is still found and reported as out_of_scope.
CREATE TABLE IF NOT EXISTS scope (
  kind TEXT NOT NULL, key TEXT NOT NULL, id TEXT NOT NULL, PRIMARY KEY (kind, key, id)
) WITHOUT ROWID;
-- What crmsync told the CRM about its users (POST /notifications), shown by GET /notifications.
CREATE TABLE IF NOT EXISTS notifications (
  id TEXT PRIMARY KEY, user_id TEXT NOT NULL, body TEXT NOT NULL, received_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS notifications_user ON notifications (user_id, received_at);
CREATE TABLE IF NOT EXISTS idempotency (
  kind TEXT NOT NULL, key TEXT NOT NULL, fingerprint TEXT NOT NULL, status INTEGER NOT NULL,
  response TEXT NOT NULL, created_at TEXT NOT NULL, PRIMARY KEY (kind, key)
) WITHOUT ROWID;
"""


class Database:
    """A pool of connections to one SQLite file in WAL mode."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self._pool: queue.LifoQueue[sqlite3.Connection] = queue.LifoQueue()
        self._all: list[sqlite3.Connection] = []
        with self._conn() as conn:
            conn.executescript(SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=60)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA busy_timeout=60000")
        self._all.append(conn)
        return conn

    @contextmanager
    def _conn(self) -> Iterator[sqlite3.Connection]:
        try:
            conn = self._pool.get_nowait()
        except queue.Empty:
            conn = self._connect()
        try:
            yield conn
        finally:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            self._pool.put(conn)

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """A read transaction: every statement inside sees one snapshot."""
        with self._conn() as conn:
            conn.execute("BEGIN")
            yield conn
            conn.execute("COMMIT")

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction, serialised with every other writer; rolled back on error."""
        with self._conn() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def close(self) -> None:
        """Close every connection."""
        for conn in self._all:
            conn.close()
        self._all.clear()


def next_seq(conn: sqlite3.Connection) -> int:
    """Draw the next commit sequence number (inside a write transaction)."""
    row = conn.execute("UPDATE meta SET value = value + 1 WHERE name = 'seq' RETURNING value").fetchone()
    return int(row[0])


def current_seq(conn: sqlite3.Connection) -> int:
    """The last sequence number drawn."""
    return int(conn.execute("SELECT value FROM meta WHERE name = 'seq'").fetchone()[0])
