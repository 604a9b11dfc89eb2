"""Records a run could not sync (unreadable, refused by a side, or their pair could not be
merged) are kept on the cursor and re-read by every later run until they sync, so a record is
never dropped in silence just because no feed reports it again (contacts have no periodic full
listing, and a refused record is usually not edited again)."""

from __future__ import annotations

from collections.abc import Iterable, MutableMapping

from pydantic import BaseModel, ConfigDict

from ..model.kinds import Side
from ..model.state import Cursor
from ..ports import Change, RecordSide

RETRY_KEY = "retry"  # cursor.extra: the ids still to retry, per side
MAX_PER_SIDE = 1000  # a bound on the cursor document; beyond it, a full listing finds the rest


class RetryList(BaseModel):
    """Record ids per side that the last complete run could not sync."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    crm: tuple[str, ...] = ()
    google: tuple[str, ...] = ()
    overflow: bool = False  # more failed than fit: list both sides in full next run

    @classmethod
    def of(cls, cursor: Cursor) -> RetryList:
        """The list stored on ``cursor`` (empty when none)."""
        raw = cursor.extra.get(RETRY_KEY)
        return cls.model_validate(raw) if isinstance(raw, dict) else cls()

    @classmethod
    def from_failures(cls, failed: Iterable[tuple[Side, str]]) -> RetryList:
        """The list for this run's failures (sorted, bounded)."""
        ids: dict[Side, set[str]] = {Side.CRM: set(), Side.GOOGLE: set()}
        for side, rid in failed:
            ids[side].add(rid)
        crm, google = sorted(ids[Side.CRM]), sorted(ids[Side.GOOGLE])
        over = len(crm) > MAX_PER_SIDE or len(google) > MAX_PER_SIDE
        return cls(crm=tuple(crm[:MAX_PER_SIDE]), google=tuple(google[:MAX_PER_SIDE]), overflow=over)

    def ids(self, side: Side) -> tuple[str, ...]:
        return self.crm if side is Side.CRM else self.google

    def store_on(self, cursor: Cursor) -> None:
        """Write the list onto ``cursor`` (removed when empty)."""
        if self.crm or self.google or self.overflow:
            cursor.extra[RETRY_KEY] = self.model_dump(mode="json")
        else:
            cursor.extra.pop(RETRY_KEY, None)


def reread_failed(retry: RetryList, side: Side, source: RecordSide, listed: MutableMapping[str, Change]) -> None:
    """Add the current state of ``side``'s records to retry to ``listed`` (those this run's
    listing did not report). One missing from the get is left out: a deletion comes through
    the feed, and a get that does not find a record says nothing about its scope."""
    wanted = [rid for rid in retry.ids(side) if rid not in listed]
    if not wanted:
        return
    for rid, change in source.get(wanted).items():
        if change.canon is not None or change.error is not None:
            listed.setdefault(rid, change)
