"""Apply a plan: batched writes per side, results per item, then the link
changes to persist. One bad record never stops the rest."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from ..errors import CrmSyncError, TransientError
from ..model.kinds import Kind, Side
from ..model.link import Canon, Link, LinkSide, content_hash, held_fields
from ..model.normalise import unreadable
from ..ports import RecordSide, WriteOp, WriteResult
from .plan import Op, Plan, Step, Write


@dataclass
class Applied:
    """Outcome of applying a plan."""

    upserts: list[Link] = field(default_factory=list)
    deletes: list[Link] = field(default_factory=list)
    done: dict[tuple[Side, Op], int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    conflicted: list[Step] = field(default_factory=list)  # etag/version mismatch: re-read and re-merge
    crm_created: list[Link] = field(default_factory=list)  # links to records a CRM create returned
    unconfirmed: list[Link] = field(default_factory=list)  # links whose written side must be re-read
    recreated: list[Link] = field(default_factory=list)  # of those, re-creates of a linked pair (merge again)
    transient: bool = False  # some write failed transiently: do not advance cursors
    stopped: bool = False  # the budget ran out before every write was sent
    interrupted: TransientError | None = None  # a write call failed transiently: nothing more was sent
    attempted: set[int] = field(default_factory=set)  # ids of steps with a write sent (whatever its outcome)
    failed: list[tuple[Side, str]] = field(default_factory=list)  # records of refused writes: retry them
    notes: list[str] = field(default_factory=list)  # what a side held otherwise than sent (WriteResult.notes)

    def count(self, side: Side, op: Op, n: int = 1) -> None:
        self.done[(side, op)] = self.done.get((side, op), 0) + n


Budget = Callable[[], bool]  # True while the run may keep writing


def _op(step: Step, write: Write, keys: Mapping[str, str]) -> WriteOp:
    if write.side is Side.GOOGLE:
        if write.op is Op.CREATE:
            assert step.crm_id is not None
            return WriteOp(step.crm_id, None, write.fields, write.full, crm_id=step.crm_id)
        assert step.google_id is not None
        return WriteOp(
            step.google_id, step.google_id, write.fields, write.full, step.google.version, crm_id=write.crm_id
        )
    if write.op is Op.CREATE:
        assert step.google_id is not None
        return WriteOp(step.google_id, None, write.fields, write.full, idempotency_key=crm_create_key(step, keys))
    assert step.crm_id is not None
    return WriteOp(step.crm_id, step.crm_id, write.fields, write.full, step.crm.version)


def crm_create_key(step: Step, keys: Mapping[str, str]) -> str:
    """The idempotency source of a CRM create: one per intended record. A retry of a create sent
    before (``keys``, kept in the cursor until a run confirms it) reuses its key even if the
    Google record changed since — the CRM side then updates the record that key made (see
    crm/converge.py); a Google record coming back into scope (new etag) or a re-create after a
    CRM delete makes a new record."""
    assert step.google_id is not None
    if step.link is not None:
        return f"{step.google_id}|after:{step.link.crm_id}"
    return f"{step.google_id}|{keys.get(step.google_id) or version_tag(step.google.version)}"


def version_tag(version: str | None) -> str:
    """A short stand-in for a Google etag in create keys (kept per record in the cursor)."""
    return hashlib.sha256((version or "").encode()).hexdigest()[:8]


# CRM creates go first: when one replays a record created by an earlier run whose reply was
# lost, that record may also sit in this plan as "new in the CRM, create it in Google" — the
# replay tells us it is the same record, and the Google create is dropped.
_ORDER = [
    (Side.CRM, Op.CREATE),
    *((Side.GOOGLE, o) for o in (Op.CREATE, Op.UPDATE, Op.DELETE)),
    (Side.CRM, Op.UPDATE),
    (Side.CRM, Op.DELETE),
]


def apply_plan(
    plan: Plan,
    kind: Kind,
    sides: dict[Side, RecordSide],
    *,
    now: datetime,
    budget: Budget,
    chunk: int = 200,
    delete_chunk: int = 500,
    keys: Mapping[str, str] | None = None,
) -> Applied:
    """Send every write of ``plan`` in ``_ORDER`` (CRM creates first, then Google's creates,
    updates and deletes, then the CRM's updates and deletes), in chunks so the budget is checked
    between batches, and work out the links to save or delete from the results."""
    out = Applied()
    keys = keys or {}
    results: dict[tuple[int, Side], WriteResult] = {}
    replayed: set[str] = set()  # CRM ids a CRM create returned
    for side, op in _ORDER:
        pending = plan.writes(side, op)
        if side is Side.GOOGLE and op is Op.CREATE and replayed:
            pending = [(s, w) for s, w in pending if not (s.link is None and s.crm_id in replayed)]
        # A side may say how many writes it sends per call (Calendar batches 1000); else
        # People's limits: deletes 500, other writes 200.
        size = getattr(sides[side], "write_chunk", None) or (delete_chunk if op is Op.DELETE else chunk)
        for start in range(0, len(pending), size):
            if not budget():
                out.stopped = True
                break
            part = pending[start : start + size]
            ops = [_op(s, w, keys) for s, w in part]
            call = {Op.CREATE: sides[side].create, Op.UPDATE: sides[side].update, Op.DELETE: sides[side].delete}[op]
            out.attempted.update(id(s) for s, _ in part)
            try:
                sent = _isolated(call, ops)
            except TransientError as err:
                # Like running out of budget: stop sending, and link what the calls before confirmed.
                out.interrupted, out.transient = err, True
                break
            for (step, _), res in zip(part, sent, strict=True):
                results[(id(step), side)] = res
                out.notes += [f"{side.value} {res.id or res.key}: {note}" for note in res.notes]
                if res.ok and side is Side.CRM and op is Op.CREATE and res.id:
                    replayed.add(res.id)
                if res.ok:
                    out.count(side, op)
                elif res.conflict:
                    out.conflicted.append(step)
                elif res.transient:
                    out.transient = True
                else:
                    out.errors.append(f"{op.value} in {side.value} of {res.key}: {res.error}")
                    out.failed += [(s, i) for s, i in ((Side.CRM, step.crm_id), (Side.GOOGLE, step.google_id)) if i]
        if out.stopped or out.interrupted:
            break
    for step in plan.steps:
        _settle(step, kind, results, now, out)
    return out


def _isolated(call: Callable[[Sequence[WriteOp]], list[WriteResult]], ops: list[WriteOp]) -> list[WriteResult]:
    """``call(ops)``; if it fails with anything but a transient error (a bug or an odd value in
    one record), each op is sent alone, so the one that fails is recorded and the others go out."""
    try:
        return call(ops)
    except CrmSyncError:
        raise  # the project's own signals (transient, stop the kind, reauth) are not one record's problem
    except Exception as err:
        if len(ops) == 1:
            return [WriteResult(ops[0].key, False, error=unreadable(err))]
    return [_isolated(call, [op])[0] for op in ops]


def _settle(step: Step, kind: Kind, results: dict[tuple[int, Side], WriteResult], now: datetime, out: Applied) -> None:
    """The link change for one step, given which of its writes succeeded."""
    res = {w.side: results.get((id(step), w.side)) for w in step.writes}
    all_ok = all(r is not None and r.ok for r in res.values())
    if step.base is None:
        if all_ok and step.link is not None:
            out.deletes.append(step.link)
        return
    crm_id = step.crm_id or _created_id(res.get(Side.CRM))
    google_id = step.google_id or _created_id(res.get(Side.GOOGLE))
    if crm_id is None or google_id is None:
        return  # a create failed or was not sent: nothing to link yet
    if not all_ok and step.link is not None and crm_id == step.link.crm_id and google_id == step.link.google_id:
        return  # keep the old link: the next run sees the same difference and retries
    if not all_ok and step.link is None:
        return  # a new pair whose merge did not reach both sides: the next run pairs it again
    base = step.base if all_ok else (step.link.base if step.link else step.base)
    crm_res = res.get(Side.CRM)
    first = crm_res is not None and crm_res.ok and crm_res.replayed_other and crm_res.canon is not None
    if first:
        # The CRM already held the record this create was for, made from an earlier version of
        # its Google source: that is the last agreed state; both sides merge their edits from it.
        assert crm_res is not None and crm_res.canon is not None
        base = crm_res.canon
    link = Link(
        kind=kind,
        base=base,
        created_by=step.created_by or (step.link.created_by if step.link else Side.CRM),
        synced_at=now,
        crm=_side_after(Side.CRM, crm_id, res.get(Side.CRM), step, base),
        # A replayed create: what Google holds is unknown until re-read (merged from ``base``).
        google=_side_after(Side.GOOGLE, google_id, res.get(Side.GOOGLE), step, base, unknown=first),
    )
    if step.link is not None and step.link.crm_id != crm_id:
        out.deletes.append(step.link)  # re-created in the CRM under a new id: the old link document goes
    out.upserts.append(link)
    if any(r is not None and r.unconfirmed for r in res.values()):
        out.unconfirmed.append(link)
    crm_write = step.write_to(Side.CRM)
    if all_ok and crm_write is not None and crm_write.op is Op.CREATE:
        out.crm_created.append(link)
        if step.link is not None:
            out.recreated.append(link)


def _created_id(res: WriteResult | None) -> str | None:
    return res.id if res is not None and res.ok else None


def _version(res: WriteResult | None) -> str | None:
    return res.version if res is not None and res.ok else None


def _side_after(
    side: Side, rid: str, res: WriteResult | None, step: Step, base: Canon, *, unknown: bool = False
) -> LinkSide:
    """What the link knows of ``side`` once ``step`` is applied (``res``: the side's answer)."""
    old = step.link.side(side) if step.link is not None else LinkSide(id=rid)  # no link: unknown
    planned = step.side(side)
    version = _version(res) or planned.version
    if side is Side.CRM and not (version or "").isdigit():
        version = None  # CRM versions are counters
    held = _held(res, step, side, base)
    if planned.stale:  # not synced on purpose: re-read when its partner changes
        return LinkSide(id=rid, version=version, held=held, parked=True)
    if unknown or (res is not None and res.ok and res.unconfirmed):
        # Unknown until re-read: compared with the base, never taken as an echo.
        return LinkSide(id=rid, version=version, held=held)
    if res is not None and res.ok and res.canon is not None:
        seen: str | None = content_hash(res.canon)  # what the side really holds now
    elif planned.after is not None:
        seen = content_hash(planned.after)
    else:
        return LinkSide(id=rid, seen_hash=old.seen_hash, version=version, held=held, parked=old.parked)
    return LinkSide(id=rid, seen_hash=seen, version=version, held=held)


def _held(res: WriteResult | None, step: Step, side: Side, base: Canon) -> Canon:
    """What a side holds in place of the agreed values: from what it answered to our write, else
    what the step says it keeps (a pair matched without a base), else the old stand-ins for
    fields whose agreed value did not move."""
    if res is not None and res.ok and res.canon is not None:
        return held_fields(res.canon, base)
    link = step.link
    kept = step.side(side).held
    old = {**(link.side(side).held if link is not None else {}), **kept}
    before = {**(link.base if link is not None else {}), **{f: base.get(f) for f in kept}}
    return {f: v for f, v in old.items() if base.get(f) == before.get(f) and base.get(f) != v}
