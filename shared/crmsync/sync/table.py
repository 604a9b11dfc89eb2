"""The vocabulary of reconcile's decision table: side states, observed versions,
the inputs, and the per-side rules the settings impose. Pure, no I/O."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum

from ..model.custom import without_empty
from ..model.kinds import Kind, Side
from ..model.link import Canon, Link, content_hash, effective
from ..model.settings import DeleteRule, Direction, KindSettings, UpdateRule
from ..ports import Change
from .merge import changed_fields

MatchKeys = Callable[[Canon], tuple[list[str], ...]]
StandIns = Callable[[Canon, Canon], Canon]  # see ports.HoldsStandIns


class State(Enum):
    SAME = "same"
    CHANGED = "changed"
    GONE = "gone"


@dataclass(frozen=True)
class Inputs:
    """Everything reconcile looks at. ``links`` holds every link touched by a
    change (all links of the kind when a side was listed in full)."""

    kind: Kind
    crm: Mapping[str, Change]
    google: Mapping[str, Change]
    links: Sequence[Link]
    settings: KindSettings
    crm_full: bool = False
    google_full: bool = False
    match_keys: MatchKeys | None = None
    crm_gone: frozenset[str] = field(default_factory=frozenset)  # hinted CRM ids confirmed deleted
    # Google ids whose CRM create an earlier run sent without confirming it (its reply was lost):
    # their retry replays that create, so they are never matched to another record meanwhile.
    sent_to_crm: frozenset[str] = field(default_factory=frozenset)
    # New CRM records that may be the very records those creates made (listed since they were
    # sent): neither matched nor copied this run — the replays tell which are ours.
    defer_crm: frozenset[str] = field(default_factory=frozenset)
    # Per side, what it keeps instead of values it cannot hold (see ports.HoldsStandIns): a pair
    # matched without a base takes such a field from the side that holds it, with no conflict.
    stand_ins: Mapping[Side, StandIns] = field(default_factory=dict)
    # (CRM id, Google id) of linked pairs the user chose to keep after a safety stop ("Keep them"):
    # a side gone is restored from the other side instead of the other side being deleted.
    restore: frozenset[tuple[str, str]] = field(default_factory=frozenset)
    # CRM id -> content hash of the record an earlier run's re-create into Google sent, for re-creates
    # not yet settled by a complete run (see model.cursor.PendingRecreates): when such a record is
    # adopted, the side still holding what was sent is the merge's base.
    recreates_sent: Mapping[str, str] = field(default_factory=dict)


def writable(settings: KindSettings, side: Side) -> bool:
    """Whether the direction lets crmsync write into ``side`` at all."""
    if settings.direction is Direction.TWO_WAY:
        return True
    return (settings.direction is Direction.CRM_TO_GOOGLE) == (side is Side.GOOGLE)


def rules_for(settings: KindSettings, side: Side) -> tuple[bool, UpdateRule, DeleteRule, frozenset[str]]:
    r = settings.google if side is Side.GOOGLE else settings.crm
    never = settings.never_overwrite_google if side is Side.GOOGLE else settings.never_overwrite_crm
    return r.create, r.update, r.delete, never


def may_update(settings: KindSettings, side: Side, link: Link | None) -> bool:
    _, rule, _, _ = rules_for(settings, side)
    if not writable(settings, side) or rule is UpdateRule.NEVER:
        return False
    return rule is UpdateRule.ALWAYS or link is None or link.created_by is side


def side_state(change: Change | None, link: Link, side: Side, full: bool, source: bool) -> tuple[State, Canon | None]:
    """Classify one side of a linked pair; ``source`` is False when the direction
    makes this side's edits invisible (one-way sync)."""
    if change is None or change.error is not None:
        return (State.GONE if full and change is None else State.SAME), None
    if change.canon is None or not change.in_scope:
        return State.GONE, None
    own = link.side(side)
    seen_hash = own.seen_hash
    canon = effective(change.canon, own.held, link.base)
    if without_empty(canon) == without_empty(link.base) or (seen_hash and content_hash(change.canon) == seen_hash):
        return State.SAME, canon  # unchanged, or our own write echoing back
    return (State.CHANGED if source else State.SAME), canon


def patch_for(settings: KindSettings, side: Side, current: Canon, target: Canon) -> Canon:
    """Changed fields to send to ``side``, minus its never-overwrite fields that hold a value."""
    _, _, _, never = rules_for(settings, side)
    return {k: v for k, v in changed_fields(current, target).items() if not (k in never and current.get(k))}


def left_scope(change: Change | None) -> bool:
    """The record still exists but left the sync's scope: the user took it out of sync on
    purpose, so the delete rule applies, never the delete-conflict rule (no re-create)."""
    return change is not None and not change.in_scope


def still_out(link: Link, side: Side, full: bool) -> Change | None:
    """A parked pair (``side`` left the scope while its partner, marked stale, was edited): a side
    missing from an incremental listing has not changed since, so it is still out of scope, not
    back at the base (taking it for the base wrote the partner's edits into an out-of-scope record)."""
    if full or not link.side(side.other).parked:
        return None
    return Change(id_on(link, side), None, in_scope=False)


def is_parked(link: Link) -> bool:
    """A pair kept linked while (at least) one side is out of scope: a side of it is stale."""
    return link.parked


def version_of(change: Change | None) -> str | None:
    return change.version if change else None


def id_on(link: Link, side: Side) -> str:
    return link.side(side).id
