"""The soak's own oracle: the final state of both sides (read over their REST APIs), the links
in Firestore, the conflicts the runs reported, judged against the driver's edit log.

A record's *group* is every record ever linked to it (links are observed after every run, so a
pair survives Firestore being emptied). Checks:
- one counterpart per record: links are one-to-one, point at live records, and every live
  record whose group the users created is linked;
- fields equal: both records of a link hold the same value of the edited field;
- no duplicates: no value the users wrote (each is unique) is held by two records of one side;
- no lost edit: a group's last edit of the field is what the record edited and its counterpart
  hold, unless a reported conflict names that value, or the users deleted a record of the group;
- no unexpected delete: a group that was ever linked and never lost a record to a user's
  delete still has a live record on each side.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from bench.soak_users import FIELD, KINDS, EditLog

Node = tuple[str, str, str]  # (side, kind, id)


@dataclass
class Groups:
    parent: dict[Node, Node] = field(default_factory=dict)
    linked: set[Node] = field(default_factory=set)

    def find(self, node: Node) -> Node:
        self.parent.setdefault(node, node)
        while self.parent[node] != node:
            self.parent[node] = self.parent[self.parent[node]]
            node = self.parent[node]
        return node

    def join(self, a: Node, b: Node) -> None:
        self.parent[self.find(a)] = self.find(b)
        self.linked.update((a, b))


@dataclass
class Final:
    """What each side holds at the end: kind -> id -> value of the edited field."""

    crm: dict[str, dict[str, str | None]]
    google: dict[str, dict[str, str | None]]
    links: dict[str, list[tuple[str, str]]]  # kind -> (crm id, google id)


def check(
    final: Final, groups: Groups, log: EditLog, conflicts: list[dict[str, Any]]
) -> tuple[list[str], dict[str, int]]:
    violations: list[str] = []
    for kind in KINDS:
        for cid, gid in final.links[kind]:
            groups.join(("crm", kind, cid), ("google", kind, gid))
    deleted = {groups.find((e.side, e.kind, e.id)) for e in log.edits if e.op == "delete"}
    # Made by the users (always in the sync's scope and window; a seeded record they edited may
    # be outside a window, which the sync leaves alone by design).
    made = {groups.find((e.side, e.kind, e.id)) for e in log.edits if e.op == "create"}
    excused: dict[Node, set[str]] = defaultdict(set)
    for c in conflicts:
        kind = str(c.get("kind"))
        if c.get("field") != FIELD.get(kind):
            continue
        for side in ("crm", "google"):
            if c.get(f"{side}_id"):
                root = groups.find((side, kind, str(c[f"{side}_id"])))
                excused[root].update(str(c.get(v)) for v in ("crm", "google"))
    held = {"crm": final.crm, "google": final.google}
    for kind in KINDS:
        links = final.links[kind]
        crm_ids, google_ids = [c for c, _ in links], [g for _, g in links]
        if len(set(crm_ids)) != len(crm_ids) or len(set(google_ids)) != len(google_ids):
            violations.append(f"{kind}: a record is in two links")
        for cid, gid in links:
            if cid not in final.crm[kind] or gid not in final.google[kind]:
                violations.append(f"{kind}: link {cid} / {gid} points at a record that is gone")
            elif (final.crm[kind][cid] or "").strip() != (final.google[kind][gid] or "").strip():
                violations.append(
                    f"{kind}: {cid} / {gid} disagree: {final.crm[kind][cid]!r} != {final.google[kind][gid]!r}"
                )
        linked = {("crm", kind, c) for c in crm_ids} | {("google", kind, g) for g in google_ids}
        for side in ("crm", "google"):
            for rid, value in held[side][kind].items():
                node = (side, kind, rid)
                if node not in linked and groups.find(node) in made and groups.find(node) not in deleted:
                    violations.append(f"{kind}: {side} record {rid} ({value!r}) is not linked")
            written = {e.value for e in log.edits if e.kind == kind and e.value}
            counts: dict[str, int] = defaultdict(int)
            for value in held[side][kind].values():
                if value in written:
                    counts[value] += 1
            violations += [f"{kind}: {n} {side} records hold {v!r} (a duplicate)" for v, n in counts.items() if n > 1]
    last: dict[Node, tuple[Node, str]] = {}  # group -> (the record edited last, its value)
    for e in log.edits:
        if e.op in ("create", "edit") and e.value is not None:
            last[groups.find((e.side, e.kind, e.id))] = ((e.side, e.kind, e.id), e.value)
    partner: dict[Node, Node] = {}
    for kind in KINDS:
        for cid, gid in final.links[kind]:
            partner[("crm", kind, cid)], partner[("google", kind, gid)] = ("google", kind, gid), ("crm", kind, cid)
    live: dict[Node, dict[str, list[str | None]]] = defaultdict(lambda: {"crm": [], "google": []})
    for side in ("crm", "google"):
        for kind in KINDS:
            for rid, value in held[side][kind].items():
                live[groups.find((side, kind, rid))][side].append(value)
    for root, (node, value) in last.items():
        if root in deleted or value in excused.get(root, set()):
            continue
        # The record edited last and its counterpart now (a group may hold two pairs of identical
        # records, paired either way when matched again without a base: both ways are right).
        pair = [n for n in (node, partner.get(node)) if n is not None and n[2] in held[n[0]][n[1]]]
        values = [held[s][k][i] for s, k, i in pair] or live[root]["crm"] + live[root]["google"]
        if not values:
            violations.append(f"{root[1]}: the edit {value!r} vanished with its records")
        elif any(v != value for v in values):
            violations.append(f"{root[1]}: lost edit {value!r}: the records hold {sorted(map(str, values))}")
    roots = {groups.find(n) for n in groups.linked}
    for root in roots - deleted:
        for side in ("crm", "google"):
            if not live[root][side]:
                violations.append(f"{root[1]}: {side} record of group {root[2]} deleted, though no user deleted one")
    counts = {
        "links": sum(len(v) for v in final.links.values()),
        "crm_records": sum(len(v) for v in final.crm.values()),
        "google_records": sum(len(v) for v in final.google.values()),
        "reported_conflicts": len(conflicts),
    }
    return violations, counts
