"""Unlinked records: pairing by the CRM id Google carries, then by unique match
keys, and only then creating them on the other side (part of reconcile)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from functools import partial

from ..model.kinds import Side
from ..model.link import Canon, Link
from ..model.settings import DeleteConflictRule, DeleteRule, KindSettings
from ..ports import Change
from .merge import MergeResult, three_way, two_way
from .plan import Note, Op, Plan, Rule, Step, Versions, Write, both, sides
from .table import Inputs, rules_for, writable


class UnlinkedPairing:
    """Reconcile's handling of records with no link (mixed into the reconciler)."""

    inp: Inputs
    s: KindSettings
    plan: Plan
    adopted: set[str]

    def _add(self, step: Step) -> None:
        raise NotImplementedError

    def _adopt(self, link: Link, crm: Canon, g: Change, versions: Versions) -> None:
        raise NotImplementedError

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
        raise NotImplementedError

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
                self._pair(hint, gid, crm_new.pop(hint), g, Rule.HINT_LINK)
            elif hint in self.inp.crm_gone and self.s.delete_conflict is DeleteConflictRule.DELETE:
                # Our create of a CRM record since deleted: do not resurrect it.
                self._delete_ours(gid, hint, Rule.ORPHAN_DELETE)
            elif hint in by_crm or hint in hinted:
                # A second Google record carrying the same CRM id (a create retried by the
                # transport after a lost reply): ours, and a duplicate.
                self._delete_ours(gid, hint, Rule.DUPLICATE_DELETE)
            elif hint in self.inp.crm and not self.inp.crm[hint].in_scope:
                # Our copy of a CRM record out of the sync's scope: left alone (no link, no CRM duplicate).
                self.plan.notes.append(Note(Side.GOOGLE, gid, f"its CRM record {hint} is out of the sync's scope"))
            else:
                paired_google.discard(gid)  # the CRM record is out of scope or unknown: treat as a new record
        for gid in paired_google:
            google_new.pop(gid, None)
        for cid in self.inp.defer_crm:
            crm_new.pop(cid, None)
        if self.inp.match_keys is not None:
            sent = {gid: google_new.pop(gid) for gid in list(google_new) if gid in self.inp.sent_to_crm}
            self._match(crm_new, google_new)
            google_new.update(sent)  # created again under the same key: a replay of the first create
        for cid, c in crm_new.items():
            self._create(Side.GOOGLE, c, crm_id=cid, google_id=None)
        for gid, g in google_new.items():
            self._create(Side.CRM, g, crm_id=None, google_id=gid)

    def _delete_ours(self, google_id: str, crm_id: str, rule: Rule) -> None:
        """Delete a Google record crmsync created that has no CRM counterpart to link to."""
        _, _, delete_rule, _ = rules_for(self.s, Side.GOOGLE)
        if delete_rule is DeleteRule.DELETE and writable(self.s, Side.GOOGLE):
            step = Step(rule, None, *sides(crm_id, google_id), (Write(Op.DELETE, Side.GOOGLE, {}, {}),), base=None)
            self._add(step)
        else:
            self.plan.notes.append(Note(Side.GOOGLE, google_id, f"{rule.replace('_', ' ')} suppressed by settings"))

    def _match(self, crm_new: dict[str, Change], google_new: dict[str, Change]) -> None:
        """Pair unlinked records by unique first-sync keys. Records sharing a key with several on
        the other side are paired where their other fields decide; the rest are ambiguous: never
        copied (each copy would be a duplicate, on both sides), left unlinked and named in a note."""
        assert self.inp.match_keys is not None
        keys_c = {i: self.inp.match_keys(c.canon or {}) for i, c in crm_new.items()}
        keys_g = {i: self.inp.match_keys(g.canon or {}) for i, g in google_new.items()}
        rounds = max((len(k) for k in (*keys_c.values(), *keys_g.values())), default=0)
        # Until nothing more pairs: a pair a later key makes (sales@) can leave a record alone on an
        # earlier key (info@) — a pair, or a record of its own, as a run listing only them would see it.
        paired = True
        while paired:
            paired = False
            for r in range(rounds):  # e-mail first, then phone
                for _, cs, gs in _shared(r, keys_c, keys_g, crm_new, google_new):
                    cs, gs = cs & crm_new.keys(), gs & google_new.keys()  # less those an earlier key paired
                    for cid, gid in _decided(cs, gs, crm_new, google_new) if cs and gs else []:
                        self._pair(cid, gid, crm_new.pop(cid), google_new.pop(gid), Rule.MATCHED)
                        paired = True
        # What is left sharing a key with a record of the other side: a shared key (a shared inbox,
        # two tasks "Call back" due the same day) the other fields do not decide: never merged
        # silently, never copied.
        ambiguous: dict[tuple[Side, str], tuple[str, int]] = {}  # record -> (key, records on the other side)
        for r in range(rounds):
            for key, cs, gs in _shared(r, keys_c, keys_g, crm_new, google_new):
                for cid in cs:
                    ambiguous.setdefault((Side.CRM, cid), (key, len(gs)))
                for gid in gs:
                    ambiguous.setdefault((Side.GOOGLE, gid), (key, len(cs)))
        for (side, rid), (key, others) in sorted(ambiguous.items()):
            pool = crm_new if side is Side.CRM else google_new
            change = pool.pop(rid)
            # Read again by every run until it syncs: what settles it (the extra record deleted or
            # made to differ) changes the others, not this one, and no feed would report it again.
            self.plan.skipped.append((side, rid))
            self.plan.notes.append(
                Note(
                    side,
                    rid,
                    f"ambiguous: {display_name(change.canon or {})!r} shares {key!r} with {others} "
                    f"{side.other.value} record(s) and nothing else tells which is its counterpart: "
                    "not matched and not copied (make them differ, or remove the extra ones)",
                )
            )

    def _pair(self, crm_id: str, google_id: str, c: Change, g: Change, rule: Rule) -> None:
        assert c.canon is not None
        assert g.canon is not None
        # With no base, a field one side cannot hold as the other has it (Google sets an event's
        # organizer itself; the CRM has no company of that name) is no difference: each side keeps
        # its own, the agreed value is the other's, and nothing is written or reported for it.
        crm, goo, held = self._stand_ins(c.canon, g.canon)
        # A hint-linked Google record is our copy of the CRM record, as it was then: with that base
        # unknown, a value on one side only may be an addition or a removal, so every difference
        # goes to the policy. Records matched on a first sync were made apart: their values add up.
        merge = two_way if rule is Rule.HINT_LINK else partial(three_way, {})
        result = merge(crm, goo, policy=self.s.conflict_policy, crm_updated=c.updated_at, google_updated=g.updated_at)
        # Paired records existed on both sides; the CRM counts as their origin.
        self._merged(None, rule, crm_id, google_id, crm, goo, result, Side.CRM, Versions(c.version, g.version), held)

    def _stand_ins(self, crm: Canon, goo: Canon) -> tuple[Canon, Canon, dict[Side, Canon]]:
        """Both records with the fields a side cannot hold as the other has it read as the other's
        value, and what each side holds instead (its stand-ins)."""
        held: dict[Side, Canon] = {}
        views = {Side.CRM: crm, Side.GOOGLE: goo}
        for side in (Side.GOOGLE, Side.CRM):
            check = self.inp.stand_ins.get(side)
            own, other = views[side], views[side.other]
            wanted = {f: v for f, v in other.items() if own.get(f) != v and f not in held.get(side.other, {})}
            keeps = check(own, wanted) if check is not None and wanted else {}
            if keeps:
                held[side] = {f: own.get(f) for f in keeps}
                views[side] = {**own, **{f: other.get(f) for f in keeps}}
        return views[Side.CRM], views[Side.GOOGLE], held

    def _create(self, into: Side, change: Change, crm_id: str | None, google_id: str | None) -> None:
        create, _, _, _ = rules_for(self.s, into)
        if not (create and writable(self.s, into)):
            return
        assert change.canon is not None
        record = change.canon
        write = Write(Op.CREATE, into, record, record)
        source = {into.other: change.version}  # the version of the record copied
        versions = Versions(source.get(Side.CRM), source.get(Side.GOOGLE))
        self._add(
            Step(
                Rule(f"create_in_{into.value}"),
                None,
                *sides(crm_id, google_id, versions, after=both(record)),
                (write,),
                base=record,
                created_by=into.other,
            )
        )


def _shared(
    r: int,
    keys_c: Mapping[str, Sequence[Sequence[str]]],
    keys_g: Mapping[str, Sequence[Sequence[str]]],
    crm_new: Mapping[str, Change],
    google_new: Mapping[str, Change],
) -> list[tuple[str, set[str], set[str]]]:
    """The ``r``-th keys (e-mails, then phones) that unpaired records of both sides hold, each with
    the records holding it on each side, by key."""
    idx: dict[str, tuple[set[str], set[str]]] = defaultdict(lambda: (set(), set()))
    for which, keys, pool in ((0, keys_c, crm_new), (1, keys_g, google_new)):
        for i, ks in keys.items():
            if i in pool and r < len(ks):
                for k in ks[r]:
                    idx[k][which].add(i)
    return [(k, cs, gs) for k, (cs, gs) in sorted(idx.items()) if cs and gs]


def _decided(
    cs: set[str], gs: set[str], crm_new: Mapping[str, Change], google_new: Mapping[str, Change]
) -> list[tuple[str, str]]:
    """Pairs among records sharing one key: a lone record on each side, or records each the other's
    only closest counterpart by their other fields (the number of fields they agree on)."""
    if len(cs) == 1 and len(gs) == 1:
        return [(next(iter(cs)), next(iter(gs)))]
    score = {(c, g): _agreeing(crm_new[c].canon or {}, google_new[g].canon or {}) for c in cs for g in gs}
    out: list[tuple[str, str]] = []
    left_c, left_g = set(cs), set(gs)
    while left_c and left_g:
        best_c = {c: _unique_best({g: score[(c, g)] for g in left_g}) for c in left_c}
        best_g = {g: _unique_best({c: score[(c, g)] for c in left_c}) for g in left_g}
        found = sorted((c, g) for c, g in best_c.items() if g is not None and best_g[g] == c)
        if not found:
            break
        out.extend(found)
        left_c -= {c for c, _ in found}
        left_g -= {g for _, g in found}
    return out


def _agreeing(crm: Canon, goo: Canon) -> int:
    return sum(1 for f in set(crm) | set(goo) if crm.get(f) == goo.get(f))


def _unique_best(scores: Mapping[str, int]) -> str | None:
    top = max(scores.values(), default=None)
    best = [k for k, v in scores.items() if v == top]
    return best[0] if len(best) == 1 else None


def display_name(canon: Canon) -> str:
    """What a user calls a record: a contact's name (or first e-mail), an event's subject, a task's title."""
    name = " ".join(str(canon[f]) for f in ("given", "family") if canon.get(f))
    emails = canon.get("emails") or [{}]
    return name or str(canon.get("subject") or canon.get("title") or emails[0].get("value") or "(no name)")


def recreated_in_google(
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
