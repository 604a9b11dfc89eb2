"""reconcile: changes from both sides + links + settings -> a plan. Pure, no I/O.

The decision table, for a linked pair (CRM state x Google state), where a
side is SAME (no change, or our own write echoing back), CHANGED, or GONE
(deleted, left the sync's scope, or missing from a complete listing):

    SAME    x SAME     nothing to do
    CHANGED x SAME     patch Google with the CRM's changed fields
    SAME    x CHANGED  patch the CRM with Google's changed fields
    CHANGED x CHANGED  three-way merge; patch each side with what it lacks
    GONE    x SAME     Google follows the delete rule for writes into Google
    SAME    x GONE     the CRM follows the delete rule for writes into the CRM
    GONE    x CHANGED  delete conflict: keep_edited re-creates, delete deletes
    CHANGED x GONE     (the same, mirrored)
    GONE    x GONE     drop the link

A side that left the scope (rather than being deleted) while the other was
edited, or both sides leaving it, parks the pair: link and base kept, the side
in scope marked stale (re-read when its partner changes). While parked, a side
absent from an incremental listing is still out of scope; the pair merges from
its base once both are back, and a deletion on either side unparks it.

Unlinked records are paired by the CRM id Google carries for records we
created, then by unique e-mail, then by unique phone (contacts), and only
then created on the other side, so first syncs and retried creates never
duplicate. A Google record carrying a linked CRM id is that pair's re-create
(adopted when its Google side is gone) or a duplicate (deleted); one whose
CRM record is out of scope is left alone; one whose CRM record was deleted
follows the delete-conflict rule.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from functools import partial

from ..model.kinds import Kind, Side
from ..model.link import Canon, Link, content_hash
from ..model.settings import DeleteConflictRule, DeleteRule, Direction, KindSettings, UpdateRule
from ..ports import Change
from .merge import MergeResult, changed_fields, three_way, two_way
from .plan import STALE, Note, Op, Plan, Step, Write

MatchKeys = Callable[[Canon], tuple[list[str], ...]]


@dataclass(frozen=True)
class Versions:
    """The versions (CRM version, Google etag) of a pair as last observed."""

    crm: str | None
    google: str | None


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


def _writable(settings: KindSettings, side: Side) -> bool:
    """Whether the direction lets crmsync write into ``side`` at all."""
    if settings.direction is Direction.TWO_WAY:
        return True
    return (settings.direction is Direction.CRM_TO_GOOGLE) == (side is Side.GOOGLE)


def _rules(settings: KindSettings, side: Side) -> tuple[bool, UpdateRule, DeleteRule, frozenset[str]]:
    r = settings.google if side is Side.GOOGLE else settings.crm
    never = settings.never_overwrite_google if side is Side.GOOGLE else settings.never_overwrite_crm
    return r.create, r.update, r.delete, never


def _may_update(settings: KindSettings, side: Side, link: Link | None) -> bool:
    _, rule, _, _ = _rules(settings, side)
    if not _writable(settings, side) or rule is UpdateRule.NEVER:
        return False
    return rule is UpdateRule.ALWAYS or link is None or link.created_by is side


def _state(change: Change | None, link: Link, side: Side, full: bool, source: bool) -> tuple[State, Canon | None]:
    """Classify one side of a linked pair; ``source`` is False when the direction
    makes this side's edits invisible (one-way sync)."""
    if change is None or change.error is not None:
        return (State.GONE if full and change is None else State.SAME), None
    if change.canon is None or not change.in_scope:
        return State.GONE, None
    seen_hash = link.crm_hash if side is Side.CRM else link.google_hash
    if change.canon == link.base or (seen_hash and content_hash(change.canon) == seen_hash):
        return State.SAME, change.canon  # unchanged, or our own write echoing back
    return (State.CHANGED if source else State.SAME), change.canon


def _patch(settings: KindSettings, side: Side, current: Canon, target: Canon) -> Canon:
    """Changed fields to send to ``side``, minus its never-overwrite fields that hold a value."""
    _, _, _, never = _rules(settings, side)
    return {k: v for k, v in changed_fields(current, target).items() if not (k in never and current.get(k))}


def _left_scope(change: Change | None) -> bool:
    """The record still exists but left the sync's scope: the user took it out of sync on
    purpose, so the delete rule applies, never the delete-conflict rule (no re-create)."""
    return change is not None and not change.in_scope


def _still_out(link: Link, side: Side, full: bool) -> Change | None:
    """A parked pair (``side`` left the scope while its partner, marked stale, was edited): a side
    missing from an incremental listing has not changed since, so it is still out of scope, not
    back at the base (taking it for the base wrote the partner's edits into an out-of-scope record)."""
    partner_hash = link.google_hash if side is Side.CRM else link.crm_hash
    if full or partner_hash != STALE:
        return None
    return Change(_id_on(link, side), None, in_scope=False)


def _parked(link: Link) -> bool:
    """A pair kept linked while (at least) one side is out of scope: a side of it is stale."""
    return STALE in (link.crm_hash, link.google_hash)


def _version(change: Change | None) -> str | None:
    return change.version if change else None


class _Reconciler:
    def __init__(self, inp: Inputs) -> None:
        self.inp = inp
        self.s = inp.settings
        self.plan = Plan()
        self.adopted: set[str] = set()  # unlinked Google records taken as a linked pair's re-created side

    def run(self) -> Plan:
        by_crm = {lk.crm_id: lk for lk in self.inp.links}
        by_google = {lk.google_id: lk for lk in self.inp.links}
        self.recreated = _recreated_in_google(self.inp.google, by_crm, by_google)
        for side, changes in ((Side.CRM, self.inp.crm), (Side.GOOGLE, self.inp.google)):
            for rid, ch in changes.items():
                if ch.error:
                    self.plan.notes.append(Note(side, rid, f"skipped: {ch.error}"))
        for link in self.inp.links:
            self._linked(link)
        crm_new = {
            i: c
            for i, c in self.inp.crm.items()
            if i not in by_crm and c.canon is not None and c.in_scope and not c.error and c.creatable
        }
        google_new = {
            i: c
            for i, c in self.inp.google.items()
            if i not in by_google and c.canon is not None and c.in_scope and not c.error and c.creatable
        }
        self._unlinked(crm_new, google_new, by_crm)
        return self.plan

    # ----------------------------------------------------------------- linked pairs

    def _linked(self, link: Link) -> None:
        crm_ch = self.inp.crm.get(link.crm_id) or _still_out(link, Side.CRM, self.inp.crm_full)
        g_ch = self.inp.google.get(link.google_id) or _still_out(link, Side.GOOGLE, self.inp.google_full)
        crm_source = _writable(self.s, Side.GOOGLE)  # CRM edits flow only if Google may be written
        g_source = _writable(self.s, Side.CRM)
        cs, crm = _state(crm_ch, link, Side.CRM, self.inp.crm_full, crm_source)
        gs, goo = _state(g_ch, link, Side.GOOGLE, self.inp.google_full, g_source)
        versions = Versions(_version(crm_ch) or _str(link.crm_version), _version(g_ch) or link.google_etag)
        base = link.base
        if cs is State.SAME and gs is State.SAME:
            return  # nothing changed, or both are echoes of our own writes
        crm_out, g_out = _left_scope(crm_ch), _left_scope(g_ch)
        other_gone = (not crm_out and cs is State.GONE) or (not g_out and gs is State.GONE)
        if (crm_out and g_out) or (_parked(link) and (crm_out or g_out) and not other_gone):
            # Both left the scope (neither deleted), or a parked pair still has one side out: keep the
            # link and its base, the side in scope (both while both are out) stale, so the pair merges
            # from that base once both are back, rather than being matched again with no base (which
            # drops what was cleared or removed) or taken through the delete rule once more.
            inside = frozenset(s for s, out in ((Side.CRM, crm_out), (Side.GOOGLE, g_out)) if not out)
            self._add(
                Step(
                    "left_scope_parked",
                    link.crm_id,
                    link.google_id,
                    link,
                    base=base,
                    created_by=link.created_by,
                    crm_version=versions.crm,
                    google_version=versions.google,
                    stale=inside or frozenset(Side),
                    # one side back: the side still out is no longer stale (it holds the base, as last agreed)
                    crm_hash_of=base if inside and crm_out else None,
                    google_hash_of=base if inside and g_out else None,
                )
            )
            return
        if cs is State.CHANGED and gs is State.SAME:
            self._one_sided(link, Side.CRM, crm or base, versions)
        elif cs is State.SAME and gs is State.CHANGED:
            self._one_sided(link, Side.GOOGLE, goo or base, versions)
        elif cs is State.CHANGED and gs is State.CHANGED:
            assert crm is not None
            assert goo is not None
            self._both_changed(link, crm, goo, crm_ch, g_ch, versions)
        elif gs is State.GONE and cs is State.GONE:
            self._add(Step("both_gone", link.crm_id, link.google_id, link, base=None))
        elif cs is State.GONE:
            self._gone(
                link,
                gone=Side.CRM,
                other_changed=goo if gs is State.CHANGED else None,
                versions=versions,
                left=_left_scope(crm_ch),
            )
        else:
            self._gone(
                link,
                gone=Side.GOOGLE,
                other_changed=crm if cs is State.CHANGED else None,
                versions=versions,
                left=_left_scope(g_ch),
            )

    def _one_sided(self, link: Link, changed: Side, record: Canon, versions: Versions) -> None:
        # One side changed: send only the changed fields to the other side.
        target = changed.other
        fields = _patch(self.s, target, link.base, record)
        if fields and _may_update(self.s, target, link):
            write = Write(Op.UPDATE, target, fields, {**link.base, **fields})
            self._add(
                Step(
                    f"{changed.value}_changed",
                    link.crm_id,
                    link.google_id,
                    link,
                    (write,),
                    base=record,
                    created_by=link.created_by,
                    crm_hash_of=record,
                    google_hash_of=record,
                    crm_version=versions.crm,
                    google_version=versions.google,
                )
            )
            return
        if fields:
            self.plan.notes.append(
                Note(target, _id_on(link, target), f"update into {target.value} suppressed by settings")
            )
        # Nothing to write: remember the changed side's new state, keep the agreed base.
        crm_seen, google_seen = (record, None) if changed is Side.CRM else (None, record)
        self._add(
            Step(
                f"{changed.value}_changed_no_write",
                link.crm_id,
                link.google_id,
                link,
                base=link.base,
                created_by=link.created_by,
                crm_hash_of=crm_seen,
                google_hash_of=google_seen,
                crm_version=versions.crm,
                google_version=versions.google,
            )
        )

    def _both_changed(
        self,
        link: Link,
        crm: Canon,
        goo: Canon,
        crm_ch: Change | None,
        g_ch: Change | None,
        versions: Versions,
    ) -> None:
        # Both changed: three-way merge against the base, conflicts to the policy.
        result = three_way(
            link.base,
            crm,
            goo,
            policy=self.s.conflict_policy,
            crm_updated=crm_ch.updated_at if crm_ch else None,
            google_updated=g_ch.updated_at if g_ch else None,
        )
        self._merged(link, "both_changed", link.crm_id, link.google_id, crm, goo, result, link.created_by, versions)

    def _merged(
        self,
        link: Link | None,
        rule: str,
        crm_id: str,
        google_id: str,
        crm: Canon,
        goo: Canon,
        result: MergeResult,
        created_by: Side,
        versions: Versions,
    ) -> None:
        writes = []
        after = {Side.CRM: crm, Side.GOOGLE: goo}
        for side, current in ((Side.GOOGLE, goo), (Side.CRM, crm)):
            fields = _patch(self.s, side, current, result.merged)
            if fields and _may_update(self.s, side, link):
                writes.append(Write(Op.UPDATE, side, fields, {**current, **fields}))
                after[side] = {**current, **fields}
            elif fields:
                self.plan.notes.append(
                    Note(
                        side,
                        crm_id if side is Side.CRM else google_id,
                        f"update into {side.value} suppressed by settings",
                    )
                )
        self._add(
            Step(
                rule,
                crm_id,
                google_id,
                link,
                tuple(writes),
                base=result.merged,
                created_by=created_by,
                crm_hash_of=after[Side.CRM],
                google_hash_of=after[Side.GOOGLE],
                conflicts=tuple(result.conflicts),
                crm_version=versions.crm,
                google_version=versions.google,
            )
        )

    def _gone(
        self, link: Link, gone: Side, other_changed: Canon | None, versions: Versions, left: bool = False
    ) -> None:
        target = gone.other
        keep = other_changed is not None and self.s.delete_conflict is DeleteConflictRule.KEEP_EDITED
        if keep and left:
            # Taken out of scope on one side, edited on the other: both records still exist. Keep
            # both and the link as they are (no delete, no copy); if the record comes back into
            # scope the pair merges again from the same base.
            self.plan.notes.append(
                Note(gone, _id_on(link, gone), "left the sync scope while edited on the other side: kept")
            )
            # The edited side is not synced now: mark it stale, so it is re-read and merged when the
            # record comes back into scope.
            self._add(
                Step(
                    f"{gone.value}_left_scope_edited_parked",
                    link.crm_id,
                    link.google_id,
                    link,
                    base=link.base,
                    created_by=link.created_by,
                    crm_version=versions.crm,
                    google_version=versions.google,
                    stale=frozenset({gone.other}),
                )
            )
            return
        if keep and other_changed is not None:
            earlier = self.recreated.get(link.crm_id) if gone is Side.GOOGLE else None
            if earlier is not None:
                # An earlier run re-created it in Google but never saved the link: take that record.
                self._adopt(link, other_changed, earlier, versions)
                return
            # Deleted on one side, edited on the other: the edit survives, re-created where it was deleted.
            self._recreate(link, into=gone, record=other_changed, versions=versions)
            return
        _, _, rule, _ = _rules(self.s, target)
        if not _writable(self.s, target) or rule is DeleteRule.UNLINK_ONLY:
            self._add(Step(f"{gone.value}_gone_unlink", link.crm_id, link.google_id, link, base=None))
        elif rule is DeleteRule.DELETE:
            write = Write(Op.DELETE, target, {}, {})
            self._add(
                Step(
                    f"{gone.value}_gone_delete",
                    link.crm_id,
                    link.google_id,
                    link,
                    (write,),
                    base=None,
                    crm_version=versions.crm,
                    google_version=versions.google,
                )
            )  # the delete is conditional on the version last seen: a newer edit makes it a conflict
        # DeleteRule.IGNORE: the deletion is not propagated and the link stays.

    def _recreate(self, link: Link, into: Side, record: Canon, versions: Versions) -> None:
        create, _, _, _ = _rules(self.s, into)
        if not (create and _writable(self.s, into)):
            self._add(Step(f"{into.value}_gone_edited_unlink", link.crm_id, link.google_id, link, base=None))
            return
        keep = {"google_id": link.google_id} if into is Side.CRM else {"crm_id": link.crm_id}
        # A CRM create carries one idempotency key per re-create, and the CRM refuses that key with
        # another body: an edit made between a lost reply and its retry would fail it for good. So it
        # is created as last agreed (fixed until its link is saved); the engine then re-reads and
        # re-merges the new pair, which brings the edit across in the same run.
        body = link.base if into is Side.CRM else record
        self._add(
            Step(
                f"{into.value}_gone_edited_recreate",
                crm_id=keep.get("crm_id"),
                google_id=keep.get("google_id"),
                link=link,
                writes=(Write(Op.CREATE, into, body, body),),
                base=body,
                created_by=into.other,
                crm_hash_of=body,
                google_hash_of=None if into is Side.CRM else record,  # the CRM's case: Google is ahead
                crm_version=versions.crm,
                google_version=versions.google,
            )
        )

    def _adopt(self, link: Link, crm: Canon, g: Change, versions: Versions) -> None:
        assert g.canon is not None
        self.adopted.add(g.id)
        # Both descend from the last agreed base: the Google record was copied from the CRM and
        # either may have been edited since, so a three-way merge keeps every edit.
        crm_ch = self.inp.crm.get(link.crm_id)
        result = three_way(
            link.base,
            crm,
            g.canon,
            policy=self.s.conflict_policy,
            crm_updated=crm_ch.updated_at if crm_ch else None,
            google_updated=g.updated_at,
        )
        versions = Versions(versions.crm, g.version)
        self._merged(link, "google_gone_edited_adopt", link.crm_id, g.id, crm, g.canon, result, Side.CRM, versions)

    # ----------------------------------------------------------------- unlinked records

    def _unlinked(self, crm_new: dict[str, Change], google_new: dict[str, Change], by_crm: dict[str, Link]) -> None:
        paired_google: set[str] = set()
        hinted: set[str] = set()
        for gid, g in sorted(google_new.items()):
            hint = g.crm_id_hint
            if hint is None:
                continue
            paired_google.add(gid)
            # A hinted CRM record deleted in an earlier run (crm_gone) is a delete conflict whose other
            # side may have changed since (edited, or put back into the group after its own scope exit
            # deleted the CRM record); nothing tells, so the delete-conflict rule decides: keep_edited
            # keeps it as a new record (below), delete deletes it.
            if gid in self.adopted:
                continue  # linked to its CRM record above
            if hint in crm_new and hint not in hinted:
                # Our own create whose link was lost: link it, never create it again.
                hinted.add(hint)
                self._pair(hint, gid, crm_new.pop(hint), g, "hint_link")
            elif hint in self.inp.crm_gone and self.s.delete_conflict is DeleteConflictRule.DELETE:
                # Our create of a CRM record since deleted: do not resurrect it.
                self._delete_ours(gid, hint, "orphan_delete")
            elif hint in by_crm or hint in hinted:
                # A second Google record carrying the same CRM id (a create retried by the
                # transport after a lost reply): ours, and a duplicate.
                self._delete_ours(gid, hint, "duplicate_delete")
            elif hint in self.inp.crm and not self.inp.crm[hint].in_scope:
                # Our copy of a CRM record out of the sync's scope: left alone (no link, no CRM duplicate).
                self.plan.notes.append(Note(Side.GOOGLE, gid, f"its CRM record {hint} is out of the sync's scope"))
            else:
                paired_google.discard(gid)  # the CRM record is out of scope or unknown: treat as a new record
        for gid in paired_google:
            google_new.pop(gid, None)
        if self.inp.match_keys is not None:
            self._match(crm_new, google_new)
        for cid, c in crm_new.items():
            self._create(Side.GOOGLE, c, crm_id=cid, google_id=None)
        for gid, g in google_new.items():
            self._create(Side.CRM, g, crm_id=None, google_id=gid)

    def _delete_ours(self, google_id: str, crm_id: str, rule: str) -> None:
        """Delete a Google record crmsync created that has no CRM counterpart to link to."""
        _, _, delete_rule, _ = _rules(self.s, Side.GOOGLE)
        if delete_rule is DeleteRule.DELETE and _writable(self.s, Side.GOOGLE):
            step = Step(rule, crm_id, google_id, None, (Write(Op.DELETE, Side.GOOGLE, {}, {}),), base=None)
            self._add(step)
        else:
            self.plan.notes.append(Note(Side.GOOGLE, google_id, f"{rule.replace('_', ' ')} suppressed by settings"))

    def _match(self, crm_new: dict[str, Change], google_new: dict[str, Change]) -> None:
        assert self.inp.match_keys is not None
        keys_c = {i: self.inp.match_keys(c.canon or {}) for i, c in crm_new.items()}
        keys_g = {i: self.inp.match_keys(g.canon or {}) for i, g in google_new.items()}
        rounds = max((len(k) for k in (*keys_c.values(), *keys_g.values())), default=0)
        for r in range(rounds):  # e-mail first, then phone
            idx_c: dict[str, set[str]] = defaultdict(set)
            idx_g: dict[str, set[str]] = defaultdict(set)
            for i, ks in keys_c.items():
                if i in crm_new:
                    for k in ks[r]:
                        idx_c[k].add(i)
            for i, ks in keys_g.items():
                if i in google_new:
                    for k in ks[r]:
                        idx_g[k].add(i)
            for key in sorted(set(idx_c) & set(idx_g)):
                cs, gs = idx_c[key] & set(crm_new), idx_g[key] & set(google_new)
                if len(cs) == 1 and len(gs) == 1:
                    cid, gid = next(iter(cs)), next(iter(gs))
                    self._pair(cid, gid, crm_new.pop(cid), google_new.pop(gid), "matched")
                elif cs and gs:
                    # A shared key (e.g. a shared inbox): never merge several records silently.
                    for cid in sorted(cs):
                        self.plan.notes.append(
                            Note(Side.CRM, cid, f"not matched: {key!r} is shared by several records")
                        )

    def _pair(self, crm_id: str, google_id: str, c: Change, g: Change, rule: str) -> None:
        assert c.canon is not None
        assert g.canon is not None
        # A hint-linked Google record is our copy of the CRM record, as it was then: with that base
        # unknown, a value on one side only may be an addition or a removal, so every difference
        # goes to the policy. Records matched on a first sync were made apart: their values add up.
        merge = two_way if rule == "hint_link" else partial(three_way, {})
        result = merge(
            c.canon, g.canon, policy=self.s.conflict_policy, crm_updated=c.updated_at, google_updated=g.updated_at
        )
        # Paired records existed on both sides; the CRM counts as their origin.
        self._merged(
            None,
            rule,
            crm_id,
            google_id,
            c.canon,
            g.canon,
            result,
            Side.CRM,
            Versions(c.version, g.version),
        )

    def _create(self, into: Side, change: Change, crm_id: str | None, google_id: str | None) -> None:
        create, _, _, _ = _rules(self.s, into)
        if not (create and _writable(self.s, into)):
            return
        assert change.canon is not None
        record = change.canon
        write = Write(Op.CREATE, into, record, record)
        versions = Versions(change.version, None) if into is Side.GOOGLE else Versions(None, change.version)
        self._add(
            Step(
                f"create_in_{into.value}",
                crm_id,
                google_id,
                None,
                (write,),
                base=record,
                created_by=into.other,
                crm_hash_of=record,
                google_hash_of=record,
                crm_version=versions.crm,
                google_version=versions.google,
            )
        )

    def _add(self, step: Step) -> None:
        self.plan.steps.append(step)


def _recreated_in_google(
    google: Mapping[str, Change], by_crm: Mapping[str, Link], by_google: Mapping[str, Link]
) -> dict[str, Change]:
    """Unlinked Google records in scope that carry a linked CRM id, by that id (the first by Google
    id): what an earlier run's re-create of that pair left when its link was not saved."""
    out: dict[str, Change] = {}
    for gid, g in sorted(google.items()):
        hint = g.crm_id_hint
        if (
            hint is not None
            and hint in by_crm
            and gid not in by_google
            and g.canon is not None
            and g.in_scope
            and not g.error
        ):
            out.setdefault(hint, g)
    return out


def _id_on(link: Link, side: Side) -> str:
    return link.crm_id if side is Side.CRM else link.google_id


def _str(value: int | None) -> str | None:
    return None if value is None else str(value)


def reconcile(inp: Inputs) -> Plan:
    """The plan for one kind of one connection: pure, deterministic, no I/O."""
    return _Reconciler(inp).run()
