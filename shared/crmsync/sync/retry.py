"""Records a run could not sync (unreadable, refused by a side, their pair could not be merged,
or left ambiguous by a first-sync key they share) are kept on the cursor and re-read by every
later run until they sync, so a record is never dropped in silence just because no feed reports
it again (contacts have no periodic full listing, and a refused record is usually not edited
again; an ambiguous one is settled by a change to the others)."""

from __future__ import annotations

from collections.abc import Iterable, MutableMapping

from ..model.cursor import RetryList
from ..model.kinds import Side
from ..ports import Change, RecordSide

MAX_PER_SIDE = 1000  # a bound on the cursor document; beyond it, a full listing finds the rest


def retry_list(failed: Iterable[tuple[Side, str]]) -> RetryList:
    """The list for this run's failures (sorted, bounded), kept as ``cursor.retry``."""
    ids: dict[Side, set[str]] = {Side.CRM: set(), Side.GOOGLE: set()}
    for side, rid in failed:
        ids[side].add(rid)
    crm, google = sorted(ids[Side.CRM]), sorted(ids[Side.GOOGLE])
    over = len(crm) > MAX_PER_SIDE or len(google) > MAX_PER_SIDE
    return RetryList(crm=tuple(crm[:MAX_PER_SIDE]), google=tuple(google[:MAX_PER_SIDE]), overflow=over)


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
