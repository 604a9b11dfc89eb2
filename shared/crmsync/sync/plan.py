"""The plan reconcile returns: one step per record pair, typed writes, notes."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from ..model.kinds import Kind, Side
from ..model.link import Canon, Link
from ..model.names import record_name
from .merge import FieldConflict


class Rule(StrEnum):
    """The decision-table branch a step comes from (see reconcile's table): what reports, notes
    and tests name; a side-specific branch is built with ``Rule.on``."""

    BOTH_CHANGED = "both_changed"
    BOTH_GONE = "both_gone"
    LEFT_SCOPE_PARKED = "left_scope_parked"
    CRM_CHANGED = "crm_changed"
    GOOGLE_CHANGED = "google_changed"
    CRM_CHANGED_NO_WRITE = "crm_changed_no_write"
    GOOGLE_CHANGED_NO_WRITE = "google_changed_no_write"
    CRM_GONE_UNLINK = "crm_gone_unlink"
    GOOGLE_GONE_UNLINK = "google_gone_unlink"
    CRM_GONE_DELETE = "crm_gone_delete"
    GOOGLE_GONE_DELETE = "google_gone_delete"
    CRM_LEFT_SCOPE_EDITED_PARKED = "crm_left_scope_edited_parked"
    GOOGLE_LEFT_SCOPE_EDITED_PARKED = "google_left_scope_edited_parked"
    CRM_GONE_EDITED_UNLINK = "crm_gone_edited_unlink"
    GOOGLE_GONE_EDITED_UNLINK = "google_gone_edited_unlink"
    CRM_GONE_EDITED_RECREATE = "crm_gone_edited_recreate"
    GOOGLE_GONE_EDITED_RECREATE = "google_gone_edited_recreate"
    GOOGLE_GONE_EDITED_ADOPT = "google_gone_edited_adopt"
    CRM_RESTORED = "crm_restored"  # the user kept the pair after a safety stop: re-created in the CRM
    GOOGLE_RESTORED = "google_restored"
    CRM_LEFT_SCOPE_KEPT = "crm_left_scope_kept"  # the user kept the pair: parked, nothing deleted
    GOOGLE_LEFT_SCOPE_KEPT = "google_left_scope_kept"
    USER_CHOICE = "user_choice"  # "use the other value" for a conflict: written to both sides
    CREATE_IN_CRM = "create_in_crm"
    CREATE_IN_GOOGLE = "create_in_google"
    HINT_LINK = "hint_link"
    MATCHED = "matched"
    ORPHAN_DELETE = "orphan_delete"
    DUPLICATE_DELETE = "duplicate_delete"
    CRM_ID_MOVED = "crm_id_moved"  # the Google record carries an old CRM id of its pair: given the current one
    BACK_IN_SCOPE = "back_in_scope"  # a parked pair listed in scope on both sides, unchanged: active again

    @classmethod
    def on(cls, side: Side, branch: str) -> Rule:
        """The branch ``branch`` of ``side`` (``Rule.on(Side.CRM, "gone_delete")`` is CRM_GONE_DELETE)."""
        return cls(f"{side.value}_{branch}")


class Op(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"


@dataclass(frozen=True)
class Write:
    """One write to one side. ``fields`` are the changed canonical fields
    (the whole record for a create); ``full`` is the record after the write; ``crm_id``, on an
    update into Google, is the CRM id the Google record is to carry from now on (its pair was
    re-created in the CRM under a new id)."""

    op: Op
    side: Side
    fields: Canon
    full: Canon
    crm_id: str | None = None


@dataclass(frozen=True)
class Versions:
    """The versions (CRM version, Google etag) of a pair as last observed."""

    crm: str | None
    google: str | None


@dataclass(frozen=True)
class StepSide:
    """What a step knows of one side of its pair, and leaves of it once done."""

    id: str | None  # the record's id (None: this step creates it)
    version: str | None = None  # as last observed: updates and deletes are conditional on it
    after: Canon | None = None  # the record once the step is done (its hash goes into the link); None: unchanged
    # What the side holds in place of the agreed value of a field it cannot hold (a pair matched
    # without a base); a side written to says so itself in its answer.
    held: Canon = field(default_factory=dict)
    stale: bool = False  # not synced on purpose: the link forgets its hash, so it is re-read next time


def sides(
    crm_id: str | None,
    google_id: str | None,
    versions: Versions = Versions(None, None),
    *,
    after: Mapping[Side, Canon | None] | None = None,
    stale: Iterable[Side] = (),
    held: Mapping[Side, Canon] | None = None,
) -> tuple[StepSide, StepSide]:
    """The (CRM, Google) sides of a step, from what is known of each."""
    out = {Side.CRM: crm_id, Side.GOOGLE: google_id}
    seen = {Side.CRM: versions.crm, Side.GOOGLE: versions.google}
    kept, holds, records = frozenset(stale), held or {}, after or {}
    crm, google = (
        StepSide(out[s], seen[s], records.get(s), dict(holds.get(s, {})), s in kept) for s in (Side.CRM, Side.GOOGLE)
    )
    return crm, google


def both(record: Canon | None) -> dict[Side, Canon | None]:
    """The same record after the step on both sides."""
    return dict.fromkeys(Side, record)


@dataclass(frozen=True)
class Step:
    """What to do for one record pair, and the link state once it is done.

    ``base`` is the new merge base after every write succeeded; ``None`` drops
    the link. ``crm`` and ``google`` say what the step knows of each side and
    leaves of it (``step.side(side)``)."""

    rule: Rule  # the decision-table branch
    link: Link | None
    crm: StepSide
    google: StepSide
    writes: tuple[Write, ...] = ()
    base: Canon | None = None
    created_by: Side | None = None
    conflicts: tuple[FieldConflict, ...] = ()

    def side(self, side: Side) -> StepSide:
        """The step's ``side`` (the one place a side's fields are picked)."""
        return self.crm if side is Side.CRM else self.google

    @property
    def crm_id(self) -> str | None:
        return self.crm.id

    @property
    def google_id(self) -> str | None:
        return self.google.id

    def write_to(self, side: Side) -> Write | None:
        """The step's write into ``side``, if any."""
        return next((w for w in self.writes if w.side is side), None)


@dataclass(frozen=True)
class Note:
    """Something the user should see that is not a write: a skipped record, an
    ambiguous match, a suppressed write."""

    side: Side
    record_id: str
    message: str


@dataclass
class Plan:
    steps: list[Step] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    skipped: list[tuple[Side, str]] = field(default_factory=list)  # records not synced this run: retry them

    def writes(self, side: Side, op: Op) -> list[tuple[Step, Write]]:
        """Every (step, write) of one kind of write into one side, in plan order."""
        return [(s, w) for s in self.steps for w in s.writes if w.side is side and w.op is op]

    @property
    def conflicts(self) -> list[FieldConflict]:
        return [c for s in self.steps for c in s.conflicts]

    def linked_deletes(self) -> list[tuple[Step, Write]]:
        """The deletes of linked records, each with its step."""
        return [(s, w) for s in self.steps if s.link is not None for w in s.writes if w.op is Op.DELETE]

    def deletes_of_linked(self) -> int:
        """How many linked records this plan deletes (for the mass-delete check)."""
        return sum(1 for s in self.steps if s.link is not None for w in s.writes if w.op is Op.DELETE)


MAX_DOOMED = 200  # records listed when a safety stop holds deletes back


def doomed(plan: Plan, kind: Kind) -> list[dict[str, str | None]]:
    """The records a stopped plan would have deleted (at most MAX_DOOMED): where, ids and name."""
    return [
        {
            "side": w.side.value,
            "crm_id": s.crm_id,
            "google_id": s.google_id,
            "name": record_name(kind, s.link.base if s.link is not None else None),
        }
        for s, w in plan.linked_deletes()[:MAX_DOOMED]
    ]
