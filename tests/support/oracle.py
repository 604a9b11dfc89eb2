"""The lost-edit oracle the three sync state machines (contacts, events, tasks) share.

An edit log keeps what the user did: typed edits per record and field (an element of a multi-valued
field counts as a field of its own), the records the user removed, the conflicts the engine
reported, and which records are one (ever linked, or paired in a report). After the machine
settles, ``EditLog.lost_edits`` checks that every last edit of a field is held on both sides of
its record — unless a later edit superseded it, the engine reported a conflict on that field, the
user removed the record afterwards, or the record is out of the sync's scope. What is kind-specific
stays with each machine: the fields it edits, and (events) when an edit no longer applies."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol

from crmsync.model.link import Canon, Link
from crmsync.sync.report import KindReport

Node = tuple[str, str]  # (side, record id)
ABSENT = "<absent>"  # the value of an edit that removed an element from a multi-valued field


@dataclass(frozen=True)
class Edit:
    """One field (or one element of a multi-valued field) the user set on one record."""

    seq: int
    epoch: int  # how many sync runs had started before the edit
    node: Node
    field: str
    key: str | None  # the element's value for a multi-valued field (e-mails, phones, exceptions)
    value: Any  # the scalar, the element, or ABSENT


@dataclass(frozen=True)
class Removal:
    """The user deleted a record or took it out of the sync's scope."""

    seq: int
    node: Node
    snapshot: Canon  # what the record held when the user removed it


class Conflict(NamedTuple):
    """A conflict the engine reported, and the run that reported it."""

    run: int
    crm_id: str
    google_id: str
    field: str


class Groups:
    """Union-find over record ids: records that were ever linked are one logical record."""

    def __init__(self) -> None:
        self.parent: dict[Node, Node] = {}

    def find(self, node: Node) -> Node:
        self.parent.setdefault(node, node)
        while self.parent[node] != node:
            self.parent[node] = self.parent[self.parent[node]]
            node = self.parent[node]
        return node

    def union(self, a: Node, b: Node) -> None:
        self.parent[self.find(a)] = self.find(b)


def elements(value: Any) -> dict[str, Any] | None:
    """A multi-valued field as {key: element}; None for a scalar field."""
    if not isinstance(value, list):
        return None
    return {(e["value"] if isinstance(e, dict) else str(e)): e for e in value}


def holds(canon: Canon, fname: str, key: str | None, value: Any) -> bool:
    """Whether ``canon`` carries what an edit set."""
    if key is None:
        return bool(canon.get(fname) == value)
    found = elements(canon.get(fname) or []) or {}
    if value == ABSENT:
        return key not in found
    have = found.get(key)
    if isinstance(value, dict) and isinstance(have, dict):
        # An occurrence exception holds what the user set (its times, cancelled); an override the
        # edit left empty may be filled later (a moved instance keeps the series' subject of then).
        return all(have.get(k) == v for k, v in value.items() if v is not None)
    return bool(have == value)


def edits_of(fields: Sequence[str], before: Canon, after: Canon) -> list[tuple[str, str | None, Any]]:
    """(field, key, value) for every scalar or element of ``fields`` that differs."""
    out: list[tuple[str, str | None, Any]] = []
    for f in fields:
        b, a = before.get(f), after.get(f)
        as_list = isinstance(b, list) or isinstance(a, list)
        eb, ea = (elements(b or []), elements(a or [])) if as_list else (None, None)
        if eb is None or ea is None:
            if b != a:
                out.append((f, None, a))
            continue
        for key in sorted(set(eb) | set(ea)):
            if eb.get(key) != ea.get(key):
                out.append((f, key, ea.get(key, ABSENT)))
    return out


class Watched(Protocol):
    """What the log reads from a machine's world after a run: its links, and every pair saved or dropped."""

    @property
    def links(self) -> Any: ...  # tests.support.machines.RecordingLinks (``ever``)

    def all_links(self) -> list[Link]: ...


Moot = Callable[[str, str | None, Canon], bool]


@dataclass
class EditLog:
    """What the user did, and what the engine reported; judged by ``lost_edits``."""

    fields: tuple[str, ...]  # the fields the machine's user edits
    # Whether an edit of (field, element) no longer applies to a record as it now is (e.g. an
    # exception of an occurrence its series no longer has): such an edit was superseded.
    moot: Moot = lambda fname, key, canon: False
    # A field cleared (an element removed, a scalar emptied) on a record the sync holds no link for
    # (never linked, or its link dropped when its pair left the sync) is, to a state-based sync, a
    # record that never had it: matched with a counterpart holding it, the first merge (no base)
    # keeps the union.
    first_match_keeps_union: bool = False
    seq: int = 0
    runs: int = 0
    edits: list[Edit] = field(default_factory=list)
    removals: list[Removal] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    groups: Groups = field(default_factory=Groups)
    agreed: dict[Node, Canon] = field(default_factory=dict)  # the last linked base per record
    linked: set[Node] = field(default_factory=set)  # records linked after the last run
    reverts: set[int] = field(default_factory=set)  # edits back to the agreed value (ids): no change to the sync
    crashed: list[int] = field(default_factory=list)  # runs the worker died in (their conflicts: next run reports)
    # Edits a converged state superseded (ids): an exception whose occurrence a later series move removed
    # stays superseded when the series moves back (Google drops it too; nothing holds it meanwhile).
    superseded: set[int] = field(default_factory=set)

    def next_seq(self) -> int:
        self.seq += 1
        return self.seq

    # ------------------------------------------------------------ what the user did

    def edited(self, node: Node, before: Canon, after: Canon) -> None:
        seq, base = self.next_seq(), self.agreed.get(node)
        for fname, key, value in edits_of(self.fields, before, after):
            e = Edit(seq, self.runs, node, fname, key, value)
            if base is not None and holds(base, fname, key, value):
                self.reverts.add(id(e))  # back to the agreed value: no change to a state-based sync
            elif self.first_match_keeps_union and node not in self.linked and _clears(key, value):
                self.reverts.add(id(e))
            self.edits.append(e)

    def created(self, node: Node, canon: Canon) -> None:
        self.edited(node, {}, canon)

    def removed(self, node: Node, snapshot: Canon) -> None:
        self.removals.append(Removal(self.next_seq(), node, snapshot))

    # ------------------------------------------------------------ what the engine did

    def observe(
        self, run: int, report: KindReport | None, world: Watched, hints: Iterable[tuple[str, str]] = ()
    ) -> None:
        """After a run (failed or not): conflicts, errors, and which records are one (``hints``:
        (Google id, CRM id) of Google records that carry the CRM id they were made from)."""
        if report is not None:
            self.errors.extend(report.errors)
            for c in report.conflicts:
                self.conflicts.append(Conflict(run, c["crm_id"], c["google_id"], c["field"]))
                self.groups.union(("crm", c["crm_id"]), ("google", c["google_id"]))
        for cid, gid in world.links.ever:
            self.groups.union(("crm", cid), ("google", gid))
        self.linked = set()
        for lk in world.all_links():
            self.linked |= {("crm", lk.crm_id), ("google", lk.google_id)}
            self.groups.union(("crm", lk.crm_id), ("google", lk.google_id))
            self.agreed[("crm", lk.crm_id)] = lk.base
            self.agreed[("google", lk.google_id)] = lk.base
        for gid, cid in hints:
            self.groups.union(("google", gid), ("crm", cid))
        for e in self.edits:
            base = self.agreed.get(e.node)
            if base and id(e) not in self.superseded and self.moot(e.field, e.key, base):
                self.superseded.add(id(e))

    def conflicted(self, node: Node, fname: str, since: int = 0) -> bool:
        """Whether a run from ``since`` on reported a conflict on ``fname`` of the record ``node`` is part of."""
        group = self.groups.find(node)
        return any(
            c.run >= since and c.field == fname and self.groups.find(("crm", c.crm_id)) == group for c in self.conflicts
        )

    # ------------------------------------------------------------ the check

    def lost_edits(
        self,
        pairs: Sequence[tuple[str, str]],
        crm: Mapping[str, Canon],
        google: Mapping[str, Canon],
        out_of_scope: Iterable[Node] = (),
        solo: Mapping[Node, Canon] | None = None,
    ) -> list[str]:
        """Every last edit of a field that is not held on both sides of its record (``pairs``: the
        linked (CRM id, Google id); ``crm``/``google``: the live records in scope) and not excused:
        superseded, resolved in a reported conflict, removed by the user afterwards, made to a record
        the user keeps out of scope, or held by an unlinked record kept on its own (``solo``)."""
        find = self.groups.find
        outside = set(out_of_scope)
        alive = {("crm", c) for c in crm} | {("google", g) for g in google}
        last: dict[tuple[Node, str, str | None], Edit] = {}
        for e in self.edits:
            last[(find(e.node), e.field, e.key)] = e  # later edits supersede earlier ones
        live: dict[Node, list[tuple[str, str]]] = {}
        for cid, gid in pairs:
            live.setdefault(find(("crm", cid)), []).append((cid, gid))
        problems = []
        for (group, fname, key), e in sorted(last.items(), key=lambda kv: kv[1].seq):
            if e.node in outside or id(e) in self.reverts or id(e) in self.superseded:
                continue
            if self.conflicted(e.node, fname, e.epoch):
                continue
            if e.node not in alive and self._removed_after(e, group):
                continue
            if solo and e.node in solo and holds(solo[e.node], fname, key, e.value):
                continue  # an unlinked record kept after its counterpart left scope holds its own edit
            mine = [p for p in live.get(group, []) if e.node in (("crm", p[0]), ("google", p[1]))]
            candidates = mine or live.get(group, [])
            if not candidates:
                problems.append(f"{e} vanished: no live record holds it and no user removal excuses it")
            elif all(self.moot(fname, key, crm[c]) for c, _ in candidates):
                continue
            elif not any(
                holds(crm[c], fname, key, e.value) and holds(google[g], fname, key, e.value) for c, g in candidates
            ):
                shown = [(c, crm[c].get(fname), g, google[g].get(fname)) for c, g in candidates]
                problems.append(f"{e} lost: the record now holds {shown}")
        return problems

    def _removed_after(self, e: Edit, group: Node) -> bool:
        """The user removed the edited record later, or removed its counterpart after the edit reached it."""
        return any(
            self.groups.find(r.node) == group
            and (
                (
                    r.seq > e.seq
                    and (
                        r.node == e.node
                        or holds(r.snapshot, e.field, e.key, e.value)
                        or self.moot(e.field, e.key, r.snapshot)  # superseded before the record went
                    )
                )
                # An edit back to the very value the deleted counterpart held adds nothing the
                # user's delete did not already remove (the record equals the agreed base).
                or (r.seq < e.seq and r.node != e.node and holds(r.snapshot, e.field, e.key, e.value))
            )
            for r in self.removals
        )


def _clears(key: str | None, value: Any) -> bool:
    """Whether an edit empties what it edits: an element removed, or a scalar set to nothing."""
    return value == ABSENT if key is not None else value is None
