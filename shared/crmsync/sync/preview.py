"""A preview of a sync: both sides listed in full and reconciled exactly as a run would, nothing
written — what would be created, updated or deleted on each side, which records would be paired
(and by what), and which would be left out (and why)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from ..model.kinds import Kind, Side
from ..model.names import record_name
from ..model.settings import KindSettings
from ..ports import Change, LinkStore, RecordSide
from .plan import Rule, Step
from .reconcile import Inputs, MatchKeys, reconcile

MAX_LISTED = 50  # records named per list


# What each round of a kind's first-sync keys compares (model/*.match_keys), for "matched by".
MATCH_KEYS = {
    Kind.CONTACTS: ("e-mail", "phone"),
    Kind.EVENTS: ("start, subject and organizer",),
    Kind.TASKS: ("title and due date",),
}
BY_HINT = "the CRM id the Google record carries"


@dataclass
class Preview:
    """What one kind's run would do."""

    kind: Kind
    listed: dict[str, int]
    writes: dict[str, int] = field(default_factory=dict)
    paired: list[dict[str, Any]] = field(default_factory=list)  # unlinked records that would be linked
    paired_count: int = 0
    skipped: list[str] = field(default_factory=list)
    ambiguous: list[dict[str, Any]] = field(default_factory=list)  # left unpaired and uncopied: a shared key
    left_out: list[dict[str, Any]] = field(default_factory=list)  # skipped, by name: side, name, reason

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "listed": self.listed,
            "writes": self.writes,
            "paired": self.paired,
            "paired_count": self.paired_count,
            "skipped": self.skipped,
            "ambiguous": self.ambiguous,
            "left_out": self.left_out,
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
    sides = {Side.CRM: crm, Side.GOOGLE: google}

    def named(side: Side, rid: str, reason: str) -> dict[str, Any]:
        change = sides[side].get(rid)
        name = (change.name or record_name(kind, change.canon)) if change is not None else None
        return {"side": side.value, "id": rid, "name": name, "reason": reason}

    ambiguous = [n for n in plan.notes if n.message.startswith("ambiguous:")]
    others = [n for n in plan.notes if not n.message.startswith("ambiguous:")]
    return Preview(
        kind,
        {"google": len(google), "crm": len(crm)},
        dict(sorted(writes.items())),
        [
            {
                "crm_id": s.crm_id,
                "google_id": s.google_id,
                "name": record_name(kind, s.base),
                "rule": s.rule.value,
                "by": _matched_by(kind, s, crm, google, match_keys),
            }
            for s in paired[:MAX_LISTED]
        ],
        len(paired),
        [f"{n.side.value} {n.record_id}: {n.message}" for n in plan.notes][:MAX_LISTED],
        [named(n.side, n.record_id, n.message.removeprefix("ambiguous: ")) for n in ambiguous[:MAX_LISTED]],
        [named(n.side, n.record_id, n.message.removeprefix("skipped: ")) for n in others[:MAX_LISTED]],
    )


def _matched_by(
    kind: Kind, step: Step, crm: dict[str, Change], google: dict[str, Change], match_keys: MatchKeys | None
) -> str | None:
    """What paired two unlinked records: the CRM id Google carries, or the first key both share."""
    if step.rule is Rule.HINT_LINK:
        return BY_HINT
    c, g = crm.get(step.crm_id or ""), google.get(step.google_id or "")
    if match_keys is None or c is None or g is None:
        return None
    names = MATCH_KEYS.get(kind, ())
    for i, (mine, theirs) in enumerate(zip(match_keys(c.canon or {}), match_keys(g.canon or {}), strict=False)):
        if set(mine) & set(theirs):
            return names[i] if i < len(names) else None
    return None
