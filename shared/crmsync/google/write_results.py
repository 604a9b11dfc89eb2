"""How a failed Google write is answered to the engine, the same in every adapter.

- Changed since it was read (412, a moved etag): a conflict; the engine re-reads and merges again.
- Gone since it was read (404/410 on an update, a tombstone in the answer): a conflict as well;
  the engine re-reads, finds the record gone, and the delete rule decides in the same run (a
  People listing can lag a delete by minutes, so the engine may update a record the user has
  just deleted). Never a permanent "not found" error.
- Transient: retried by a later run. Anything else: a per-record error with Google's message.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..ports import WriteOp, WriteResult
from .errors import AlreadyExists, EtagMismatch, NotFound, Transient


def changed_since_read(key: str) -> WriteResult:
    """The answer to a write planned on a version the record no longer has: re-read and merge."""
    return WriteResult(key, False, error="changed in Google since it was read", conflict=True)


def gone_since_read(key: str, what: str) -> WriteResult:
    """The answer to an update of a record deleted since it was read: re-read, then the delete rule."""
    return WriteResult(key, False, error=f"{what} was deleted in Google since it was read", conflict=True)


def error_result(key: str, err: BaseException, *, updating: bool = False, what: str = "the record") -> WriteResult:
    """A failed write as the engine wants it: conflicts re-merged, transient ones retried; with
    ``updating``, a record gone (404/410) is a conflict too (see the module text)."""
    if isinstance(err, EtagMismatch):
        return WriteResult(key, False, error=str(err), conflict=True)
    if updating and isinstance(err, NotFound):
        return gone_since_read(key, what)
    return WriteResult(key, False, error=str(err), transient=isinstance(err, Transient))


def is_duplicate(outcome: object) -> bool:
    """A 409 on an insert: the id (or iCalUID) is taken already."""
    return isinstance(outcome, AlreadyExists)


def delete_results(ops: Sequence[WriteOp], outcomes: Sequence[object]) -> list[WriteResult]:
    """Deletes as the engine wants them: done, or already gone (404/410: deleted is deleted), or
    ``error_result`` (a moved etag under If-Match is a conflict)."""
    return [
        error_result(op.key, outcome)
        if isinstance(outcome, BaseException) and not isinstance(outcome, NotFound)
        else WriteResult(op.key, True, op.target_id)
        for op, outcome in zip(ops, outcomes, strict=True)
    ]
