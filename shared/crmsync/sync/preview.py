"""A preview of a sync: both sides listed in full and reconciled exactly as a run would, nothing
written — what would be created, updated or deleted on each side, which records would be paired
(and by what), and which would be left out (and why)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from ..model.kinds import Kind
from ..model.names import record_name
from ..model.settings import KindSettings
from ..ports import Change, LinkStore, RecordSide
from .reconcile import Inputs, MatchKeys, reconcile

MAX_LISTED = 50  # records named per list


@dataclass
class Preview:
    """What one kind's run would do."""

    kind: Kind
    listed: dict[str, int]
    writes: dict[str, int] = field(default_factory=dict)
    paired: list[dict[str, Any]] = field(default_factory=list)  # unlinked records that would be linked
    paired_count: int = 0
    skipped: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "listed": self.listed,
            "writes": self.writes,
            "paired": self.paired,
            "paired_count": self.paired_count,
            "skipped": self.skipped,
        }


def preview_kind(
    kind: Kind,
    crm_side: RecordSide,
    google_side: RecordSide,
    store: LinkStore,
    settings: KindSettings,
    match_keys: MatchKeys | None,
) -> Preview:
    """List both sides in full and reconcile against the stored links; send nothing, save nothing."""
    google: dict[str, Change] = {c.id: c for c in google_side.list_changes(None).changes}
    crm: dict[str, Change] = {c.id: c for c in crm_side.list_changes(None).changes}
    links = list(store.all_links(kind))
    plan = reconcile(Inputs(kind, crm, google, links, settings, True, True, match_keys))
    writes = Counter(f"{w.side.value}.{w.op.value}" for s in plan.steps for w in s.writes)
    paired = [s for s in plan.steps if s.link is None and s.crm_id and s.google_id]
    return Preview(
        kind,
        {"google": len(google), "crm": len(crm)},
        dict(sorted(writes.items())),
        [
            {"crm_id": s.crm_id, "google_id": s.google_id, "name": record_name(kind, s.base), "rule": s.rule}
            for s in paired[:MAX_LISTED]
        ],
        len(paired),
        [f"{n.side.value} {n.record_id}: {n.message}" for n in plan.notes][:MAX_LISTED],
    )
