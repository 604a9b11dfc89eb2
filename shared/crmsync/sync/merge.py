"""Three-way field merge of two canonical records against their last agreed base."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..model import event
from ..model.kinds import Kind, Side
from ..model.link import Canon
from ..model.settings import ConflictPolicy


@dataclass(frozen=True)
class FieldConflict:
    """A field changed on both sides to different values, and how it was resolved."""

    field: str
    base: Any
    crm: Any
    google: Any
    winner: Side
    policy: ConflictPolicy


@dataclass(frozen=True)
class MergeResult:
    merged: Canon
    conflicts: list[FieldConflict]


def winner_of(policy: ConflictPolicy, crm_updated: datetime | None, google_updated: datetime | None) -> Side:
    """Which side wins a field conflict. ``most_recent`` compares the records'
    modification times as snapshotted before anything was applied; a tie or a
    missing time falls back to the CRM (the system of record)."""
    if policy is ConflictPolicy.CRM_WINS:
        return Side.CRM
    if policy is ConflictPolicy.GOOGLE_WINS:
        return Side.GOOGLE
    if crm_updated and google_updated and google_updated > crm_updated:
        return Side.GOOGLE
    return Side.CRM


def _is_keyed_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, dict) and "value" in v for v in value)


def _merge_keyed(
    base: list[dict[str, Any]], crm: list[dict[str, Any]], google: list[dict[str, Any]], win: Side
) -> tuple[list[dict[str, Any]], bool]:
    """Merge typed multi-valued fields as maps keyed by value: an entry added or
    removed on one side is added or removed; a type changed on both sides
    differently is a conflict resolved by ``win``."""
    b = {e["value"]: e for e in base}
    c = {e["value"]: e for e in crm}
    g = {e["value"]: e for e in google}
    out: dict[str, dict[str, Any]] = {}
    conflicted = False
    for key in sorted(set(b) | set(c) | set(g)):
        vb, vc, vg = b.get(key), c.get(key), g.get(key)
        if vc == vg:
            chosen = vc
        elif vc == vb:
            chosen = vg  # only Google changed this entry
        elif vg == vb:
            chosen = vc  # only the CRM changed this entry
        else:
            conflicted = True
            if vc is None or vg is None:
                # Removed on one side and changed on the other: keep the edit.
                chosen = vc if vc is not None else vg
            else:
                chosen = vc if win is Side.CRM else vg
        if chosen is not None:
            out[key] = chosen
    return [out[k] for k in sorted(out)], conflicted


def _merge_set(base: list[Any], crm: list[Any], google: list[Any]) -> list[Any]:
    """Plain sets (tags, groups): each element added or removed on either side."""
    b, c, g = set(base), set(crm), set(google)
    return sorted(e for e in b | c | g if ((e in c) if (e in c) != (e in b) else (e in g)))


# Fields that only make sense together, merged as one value: an event made all-day on one side
# and moved on the other must not get a date-only start with all_day False, and a series' times
# and rule say together when it happens (a start moved on one side and a "this and following"
# split on the other could otherwise merge into a series with no occurrence at all).
FIELD_GROUPS: tuple[tuple[str, ...], ...] = (("all_day", "start", "end", "recurrence"),)


def three_way(
    base: Canon,
    crm: Canon,
    google: Canon,
    *,
    policy: ConflictPolicy,
    crm_updated: datetime | None,
    google_updated: datetime | None,
) -> MergeResult:
    """Merge field by field: a field changed on one side only comes from that
    side; a field changed on both sides to different values goes to the policy's
    winner and is recorded as a conflict."""
    win = winner_of(policy, crm_updated, google_updated)
    merged: Canon = {}
    conflicts: list[FieldConflict] = []
    names = set(base) | set(crm) | set(google)
    for group in FIELD_GROUPS:
        if not set(group) & names:
            continue
        names -= set(group)
        gb, gc, gg = (tuple(r.get(f) for f in group) for r in (base, crm, google))
        chosen = gc if gc == gg or gg == gb else gg if gc == gb else (gc if win is Side.CRM else gg)
        merged.update(zip(group, chosen, strict=True))
        if gc not in (gg, gb) and gg != gb:  # both sides changed the group: one conflict per differing field
            conflicts.extend(
                FieldConflict(f, b, c, g, win, policy) for f, b, c, g in zip(group, gb, gc, gg, strict=True) if c != g
            )
    for name in sorted(names):
        vb, vc, vg = base.get(name), crm.get(name), google.get(name)
        if vc == vg:
            merged[name] = vc
        elif vc == vb:
            merged[name] = vg
        elif vg == vb:
            merged[name] = vc
        elif _is_keyed_list(vc) or _is_keyed_list(vg):
            value, conflicted = _merge_keyed(vb or [], vc or [], vg or [], win)
            merged[name] = value
            if conflicted:
                conflicts.append(FieldConflict(name, vb, vc, vg, win, policy))
        elif isinstance(vc, list) and isinstance(vg, list):
            merged[name] = _merge_set(vb or [], vc, vg)
        else:
            merged[name] = vc if win is Side.CRM else vg
            conflicts.append(FieldConflict(name, vb, vc, vg, win, policy))
    return MergeResult(merged, conflicts)


def two_way(
    crm: Canon,
    google: Canon,
    *,
    policy: ConflictPolicy,
    crm_updated: datetime | None,
    google_updated: datetime | None,
) -> MergeResult:
    """Merge records with no known base: every field that differs goes to the policy's winner
    and is recorded as a conflict."""
    win = winner_of(policy, crm_updated, google_updated)
    merged: Canon = {}
    conflicts: list[FieldConflict] = []
    for name in sorted(set(crm) | set(google)):
        vc, vg = crm.get(name), google.get(name)
        merged[name] = vc if vc == vg or win is Side.CRM else vg
        if vc != vg:
            conflicts.append(FieldConflict(name, None, vc, vg, win, policy))
    return MergeResult(merged, conflicts)


def coherent(kind: Kind, merged: Canon) -> Canon:
    """A merged record made consistent across its fields by its kind's rule (an event keeps no
    exception outside its series)."""
    return event.coherent(merged) if kind is Kind.EVENTS else merged


def changed_fields(before: Canon, after: Canon) -> Canon:
    """The fields of ``after`` whose value differs from ``before`` (for PATCH)."""
    return {k: v for k, v in after.items() if before.get(k) != v}
