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
its base once both are back (both listed unchanged: just active again), and a
deletion on either side unparks it.

Unlinked records are paired by the CRM id Google carries for records we
created, then by unique e-mail, then by unique phone (contacts), and only
then created on the other side, so first syncs and retried creates never
duplicate. A Google record carrying a linked CRM id is that pair's re-create
(adopted when its Google side is gone) or a duplicate (deleted); one whose
CRM record is out of scope is left alone; one whose CRM record was deleted
follows the delete-conflict rule.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..model.kinds import Side
from ..model.link import Canon, Link, content_hash
from ..model.normalise import unreadable
from ..model.settings import DeleteConflictRule, DeleteRule
from ..ports import Change
from .back_in_scope import back_in_scope_step
from .merge import MergeResult, coherent, three_way, two_way
from .moved_ids import carrying_crm_id, moved_id_step
from .plan import Note, Op, Plan, Rule, Step, Versions, Write, both, sides
from .table import (
    Inputs,
    MatchKeys,
    State,
    id_on,
    is_parked,
    left_scope,
    may_update,
    patch_for,
    rules_for,
    side_state,
    still_out,
    version_of,
    writable,
)
from .unlinked import UnlinkedPairing, recreated_in_google


class _Reconciler(UnlinkedPairing):
    def __init__(self, inp: Inputs) -> None:
        self.inp = inp
        self.s = inp.settings
        self.plan = Plan()
        self.adopted: set[str] = set()  # unlinked Google records taken as a linked pair's re-created side

    def run(self) -> Plan:
        by_crm = {lk.crm_id: lk for lk in self.inp.links}
        by_google = {lk.google_id: lk for lk in self.inp.links}
        self.recreated = recreated_in_google(self.inp.google, by_crm, by_google)
        for side, changes in ((Side.CRM, self.inp.crm), (Side.GOOGLE, self.inp.google)):
            for rid, ch in changes.items():
                if ch.error:
                    self.plan.notes.append(Note(side, rid, f"skipped: {ch.error}"))
                    self.plan.skipped.append((side, rid))
        for link in self.inp.links:
            try:
                self._linked(link)
            except Exception as err:  # one pair's odd values skip that pair (and say so), never the run
                self.plan.notes.append(Note(Side.CRM, link.crm_id, f"skipped: {unreadable(err)}"))
                self.plan.skipped += [(Side.CRM, link.crm_id), (Side.GOOGLE, link.google_id)]
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
        crm_ch = self.inp.crm.get(link.crm_id) or still_out(link, Side.CRM, self.inp.crm_full)
        g_ch = self.inp.google.get(link.google_id) or still_out(link, Side.GOOGLE, self.inp.google_full)
        crm_source = writable(self.s, Side.GOOGLE)  # CRM edits flow only if Google may be written
        g_source = writable(self.s, Side.CRM)
        cs, crm = side_state(crm_ch, link, Side.CRM, self.inp.crm_full, crm_source)
        gs, goo = side_state(g_ch, link, Side.GOOGLE, self.inp.google_full, g_source)
        versions = Versions(version_of(crm_ch) or link.crm.version, version_of(g_ch) or link.google.version)
        base = link.base
        if cs is State.SAME and gs is State.SAME:
            # Nothing changed, or both are echoes of our own writes; at most a parked pair is active
            # again (back_in_scope), or Google's record is given the pair's CRM id (see moved_ids).
            step = back_in_scope_step(link, crm_ch, g_ch, versions) or moved_id_step(
                link, self.inp.google, self.s, versions
            )
            if step is not None:
                self._add(step)
            return
        crm_out, g_out = left_scope(crm_ch), left_scope(g_ch)
        other_gone = (not crm_out and cs is State.GONE) or (not g_out and gs is State.GONE)
        if (crm_out and g_out) or (is_parked(link) and (crm_out or g_out) and not other_gone):
            # Both left the scope (neither deleted), or a parked pair still has one side out: keep the
            # link and its base, the side in scope (both while both are out) stale, so the pair merges
            # from that base once both are back, rather than being matched again with no base (which
            # drops what was cleared or removed) or taken through the delete rule once more.
            inside = frozenset(s for s, out in ((Side.CRM, crm_out), (Side.GOOGLE, g_out)) if not out)
            self._add(
                Step(
                    Rule.LEFT_SCOPE_PARKED,
                    link,
                    *sides(
                        link.crm_id,
                        link.google_id,
                        versions,
                        stale=inside or frozenset(Side),
                        # one side back: the side still out is no longer stale (it holds the base, as last agreed)
                        after={
                            Side.CRM: base if inside and crm_out else None,
                            Side.GOOGLE: base if inside and g_out else None,
                        },
                    ),
                    base=base,
                    created_by=link.created_by,
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
            self._add(Step(Rule.BOTH_GONE, link, *sides(link.crm_id, link.google_id), base=None))
        elif cs is State.GONE:
            self._gone(
                link,
                gone=Side.CRM,
                other_changed=goo if gs is State.CHANGED else None,
                versions=versions,
                left=left_scope(crm_ch),
            )
        else:
            self._gone(
                link,
                gone=Side.GOOGLE,
                other_changed=crm if cs is State.CHANGED else None,
                versions=versions,
                left=left_scope(g_ch),
            )

    def _one_sided(self, link: Link, changed: Side, record: Canon, versions: Versions) -> None:
        # One side changed: send only the changed fields to the other side.
        target = changed.other
        fields = patch_for(self.s, target, link.base, record)
        if fields and may_update(self.s, target, link):
            write = Write(Op.UPDATE, target, fields, {**link.base, **fields})
            self._add(
                Step(
                    Rule.on(changed, "changed"),
                    link,
                    *sides(link.crm_id, link.google_id, versions, after=both(record)),
                    (write,),
                    base=record,
                    created_by=link.created_by,
                )
            )
            return
        if fields:
            self.plan.notes.append(
                Note(target, id_on(link, target), f"update into {target.value} suppressed by settings")
            )
        # Nothing to write: remember the changed side's new state, keep the agreed base.
        self._add(
            Step(
                Rule.on(changed, "changed_no_write"),
                link,
                *sides(link.crm_id, link.google_id, versions, after={changed: record}),
                base=link.base,
                created_by=link.created_by,
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
        self._merged(link, Rule.BOTH_CHANGED, link.crm_id, link.google_id, crm, goo, result, link.created_by, versions)

    def _merged(
        self,
        link: Link | None,
        rule: Rule,
        crm_id: str,
        google_id: str,
        crm: Canon,
        goo: Canon,
        result: MergeResult,
        created_by: Side,
        versions: Versions,
        held: Mapping[Side, Canon] | None = None,
    ) -> None:
        result = MergeResult(coherent(self.inp.kind, result.merged), result.conflicts)
        writes = []
        after: dict[Side, Canon | None] = {Side.CRM: crm, Side.GOOGLE: goo}
        ids = {Side.CRM: crm_id, Side.GOOGLE: google_id}
        for side, current in ((Side.GOOGLE, goo), (Side.CRM, crm)):
            fields = patch_for(self.s, side, current, result.merged)
            if fields and may_update(self.s, side, link):
                writes.append(Write(Op.UPDATE, side, fields, {**current, **fields}))
                after[side] = {**current, **fields}
            elif fields:
                self.plan.notes.append(Note(side, ids[side], f"update into {side.value} suppressed by settings"))
        self._add(
            Step(
                rule,
                link,
                *sides(crm_id, google_id, versions, after=after, held=held),
                tuple(writes),
                base=result.merged,
                created_by=created_by,
                conflicts=tuple(result.conflicts),
            )
        )

    def _gone(
        self, link: Link, gone: Side, other_changed: Canon | None, versions: Versions, left: bool = False
    ) -> None:
        target = gone.other
        moved = self.recreated.get(link.crm_id) if gone is Side.GOOGLE and not left else None
        if moved is not None and other_changed is None:
            # Gone from where it was, but a Google record carrying this pair's CRM id is here (the
            # user moved the event to another calendar we read): the pair follows it, edits merged.
            self._adopt(link, link.base, moved, versions)
            return
        keep = other_changed is not None and self.s.delete_conflict is DeleteConflictRule.KEEP_EDITED
        if keep and left:
            # Taken out of scope on one side, edited on the other: both records still exist. Keep
            # both and the link as they are (no delete, no copy); if the record comes back into
            # scope the pair merges again from the same base.
            self.plan.notes.append(
                Note(gone, id_on(link, gone), "left the sync scope while edited on the other side: kept")
            )
            # The edited side is not synced now: mark it stale, so it is re-read and merged when the
            # record comes back into scope.
            self._park(link, Rule.on(gone, "left_scope_edited_parked"), gone, versions)
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
        _, _, rule, _ = rules_for(self.s, target)
        if rule is DeleteRule.DELETE and writable(self.s, target) and (link.crm_id, link.google_id) in self.inp.restore:
            self._keep(link, gone, left, versions)
            return
        if not writable(self.s, target) or rule is DeleteRule.UNLINK_ONLY:
            self._add(Step(Rule.on(gone, "gone_unlink"), link, *sides(link.crm_id, link.google_id), base=None))
        elif rule is DeleteRule.DELETE:
            write = Write(Op.DELETE, target, {}, {})
            self._add(
                Step(
                    Rule.on(gone, "gone_delete"),
                    link,
                    *sides(link.crm_id, link.google_id, versions),
                    (write,),
                    base=None,
                )
            )  # the delete is conditional on the version last seen: a newer edit makes it a conflict
        # DeleteRule.IGNORE: the deletion is not propagated and the link stays.

    def _keep(self, link: Link, gone: Side, left: bool, versions: Versions) -> None:
        """The user kept a pair a safety stop held back: a side deleted is re-created from the other
        (as last agreed, which the other side still holds), relinked and keyed like any re-create, so
        never twice; a side that left the scope parks the pair (nothing deleted; merged again if it
        comes back into scope)."""
        if not left:
            self._recreate(link, into=gone, record=link.base, versions=versions, rule=Rule.on(gone, "restored"))
            return
        self._park(link, Rule.on(gone, "left_scope_kept"), gone, versions)

    def _park(self, link: Link, rule: Rule, gone: Side, versions: Versions) -> None:
        """Keep the pair and its base while ``gone`` is out of scope; the side in scope is stale (re-read
        and merged when the record comes back)."""
        self._add(
            Step(
                rule,
                link,
                *sides(link.crm_id, link.google_id, versions, stale={gone.other}),
                base=link.base,
                created_by=link.created_by,
            )
        )

    def _recreate(self, link: Link, into: Side, record: Canon, versions: Versions, rule: Rule | None = None) -> None:
        create, _, _, _ = rules_for(self.s, into)
        if not (create and writable(self.s, into)):
            self._add(Step(Rule.on(into, "gone_edited_unlink"), link, *sides(link.crm_id, link.google_id), base=None))
            return
        # The side re-created gets a new id; the other keeps its own.
        kept = {into.other: link.side(into.other).id}
        # A CRM create carries one idempotency key per re-create, and the CRM refuses that key with
        # another body: an edit made between a lost reply and its retry would fail it for good. So it
        # is created as last agreed (fixed until its link is saved); the engine then re-reads and
        # re-merges the new pair, which brings the edit across in the same run.
        body = link.base if into is Side.CRM else record
        self._add(
            Step(
                rule or Rule.on(into, "gone_edited_recreate"),
                link,
                *sides(
                    kept.get(Side.CRM),
                    kept.get(Side.GOOGLE),
                    versions,
                    # the CRM's case: Google is ahead of the body, its hash stays as it was
                    after={Side.CRM: body, Side.GOOGLE: None if into is Side.CRM else record},
                ),
                (Write(Op.CREATE, into, body, body),),
                base=body,
                created_by=into.other,
            )
        )

    def _adopt(self, link: Link, crm: Canon, g: Change, versions: Versions) -> None:
        assert g.canon is not None
        self.adopted.add(g.id)
        crm_ch = self.inp.crm.get(link.crm_id)
        times = {"crm_updated": crm_ch.updated_at if crm_ch else None, "google_updated": g.updated_at}
        sent = self.inp.recreates_sent.get(link.crm_id)
        if sent is None:
            # Moved to another calendar we read: both descend from the last agreed base (the Google
            # record was copied from the CRM) and either may have been edited since: a three-way
            # merge keeps every edit.
            result = three_way(link.base, crm, g.canon, policy=self.s.conflict_policy, **times)
        else:
            # Our re-create whose link a dying run never saved: the record was copied from the CRM
            # as it was then, not from the link's base (a field moved back to that base is an edit).
            # The side still holding what was sent is the base; if both changed since, it is unknown
            # and every difference goes to the policy (reported), as for any pair linked without one.
            base = g.canon if content_hash(g.canon) == sent else crm if content_hash(crm) == sent else None
            if base is None:
                result = two_way(crm, g.canon, policy=self.s.conflict_policy, **times)
            else:
                result = three_way(base, crm, g.canon, policy=self.s.conflict_policy, **times)
        versions = Versions(versions.crm, g.version)
        self._merged(link, Rule.GOOGLE_GONE_EDITED_ADOPT, link.crm_id, g.id, crm, g.canon, result, Side.CRM, versions)

    def _add(self, step: Step) -> None:
        self.plan.steps.append(carrying_crm_id(step, self.inp.google, self.s))


__all__ = ["Inputs", "MatchKeys", "reconcile"]


def reconcile(inp: Inputs) -> Plan:
    """The plan for one kind of one connection: pure, deterministic, no I/O."""
    return _Reconciler(inp).run()
