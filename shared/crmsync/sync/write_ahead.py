"""What a run records in its kind's cursor before it sends anything, so that a run that loses a
reply, stops or dies leaves state from which the next run converges: the idempotency keys of its
CRM creates (a retry replays them, never twins) and the conflicts it resolves (reported by the
next run if this one cannot)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from ..model.kinds import Side
from ..model.link import Link
from ..model.names import record_name
from ..model.state import Cursor
from ..ports import Change, LinkStore
from .apply import version_tag
from .plan import Op, Plan, Step

UNREPORTED = "unreported_conflicts"  # cursor.extra: conflicts planned by a run that has not reported yet
MAX_UNREPORTED = 500
# cursor.extra: Google id -> idempotency source of CRM creates sent but not yet confirmed by a
# complete run, written before they are sent (a lost reply or a crash replays them, never twins).
CRM_CREATING = "crm_creating"
CRM_CREATING_AT = "crm_creating_at"  # cursor.extra: when the oldest of those creates was first sent
CLOCK_SKEW = timedelta(minutes=5)  # between our clock and the CRM's record times


def conflict_dicts(step: Step) -> list[dict[str, Any]]:
    """The conflicts a step resolves, as reported (plain JSON: they also wait in the cursor)."""
    return [
        {
            "crm_id": step.crm_id,
            "google_id": step.google_id,
            "field": c.field,
            "winner": c.winner.value,
            "policy": c.policy.value,
            "crm": c.crm,
            "google": c.google,
            "name": record_name(None, step.base or (step.link.base if step.link is not None else None)),
        }
        for c in step.conflicts
    ]


class WriteAhead:
    """One run's write-ahead state in its cursor (``cursor`` is this run's copy; saved here only
    when something new must survive the run, otherwise with the run's own cursor save)."""

    def __init__(self, store: LinkStore, cursor: Cursor, links: Iterable[Link], clock: Callable[[], datetime]) -> None:
        self.store, self.cursor, self.clock = store, cursor, clock
        # A create key whose Google record has a link was confirmed (by a run that saved the link
        # and then stopped): it must never replay again.
        linked = {lk.google_id for lk in links}
        self.keys: dict[str, str] = {g: t for g, t in (cursor.extra.get(CRM_CREATING) or {}).items() if g not in linked}
        self.sent_before = frozenset(self.keys)  # Google ids whose create this run retries
        self.earlier: list[dict[str, Any]] = list(cursor.extra.get(UNREPORTED) or [])  # from a run that died
        self.reported = False  # waiting conflicts were reported: the cursor must be saved

    def possibly_ours(
        self, crm: Mapping[str, Change], google: Mapping[str, Change], links: Iterable[Link]
    ) -> frozenset[str]:
        """New CRM records listed since creates whose reply was lost were sent, when those creates
        are retried now: one of them may be the record such a create made, so none is matched or
        copied before the retries (replays) say which (the caller keeps the run incomplete: the
        next run, from the same cursors, plans the rest)."""
        sent_at = self.cursor.extra.get(CRM_CREATING_AT)
        retried = [g for g in self.keys if g in google and google[g].canon is not None and google[g].in_scope]
        if not retried or not isinstance(sent_at, str):
            return frozenset()
        since = datetime.fromisoformat(sent_at) - CLOCK_SKEW
        linked = {lk.crm_id for lk in links}
        return frozenset(
            c
            for c, ch in crm.items()
            if c not in linked and ch.canon is not None and (ch.updated_at is None or ch.updated_at >= since)
        )

    def record(self, plan: Plan, max_crm_creates: int) -> bool:
        """Before anything of ``plan`` is sent, record (one cursor write, only when something is
        new) the keys of its CRM creates and the conflicts it resolves. Creates beyond
        ``max_crm_creates`` (their keys take ~40 bytes each of the 1 MiB document) are taken out
        of the plan; True if that happened (a continuation does the rest)."""
        conflicts = [c for step in plan.steps for c in conflict_dicts(step)]
        capped = self._cap_creates(plan, max_crm_creates)
        changed = self._remember_creates(plan)
        waiting = list(self.cursor.extra.get(UNREPORTED) or [])
        if any(c not in waiting for c in conflicts):
            self.cursor.extra[UNREPORTED] = (waiting + [c for c in conflicts if c not in waiting])[-MAX_UNREPORTED:]
            changed = True
        if changed:
            self.store.save_cursor(self.cursor)
        return capped

    def forget_reported(self, reported: list[dict[str, Any]], complete: bool) -> None:
        """Conflicts waiting in the cursor that this run's report carries are not waiting any more
        (a run that stops part-way still reports; only a killed one does not)."""
        waiting = list(self.cursor.extra.get(UNREPORTED) or [])
        left = [c for c in waiting if c not in reported]
        if left == waiting:
            return
        self.reported = True
        if left:
            self.cursor.extra[UNREPORTED] = left
        else:
            self.cursor.extra.pop(UNREPORTED, None)
        if not complete:
            self.store.save_cursor(self.cursor)  # a complete run saves its cursor anyway

    def move_on(self, dead: Iterable[Link]) -> None:
        """Keys that replayed records deleted since get a new source, so the next run creates anew."""
        for lk in dead:
            self.keys[lk.google_id] = f"{self.keys.get(lk.google_id, '')}-after-{lk.crm_id}"
        self.cursor.extra[CRM_CREATING] = dict(self.keys)
        self.store.save_cursor(self.cursor)

    def settle_keys(self, google: Mapping[str, Change], touched: Iterable[str]) -> bool:
        """After a complete run, forget the create keys it confirmed or unlinked (``touched``
        Google ids) or settled (the Google record was listed: deleted, or refused by the CRM);
        keep those of Google records out of scope meanwhile — when they come back, their create
        replays, never twins. True if the keys changed."""
        before = self.cursor.extra.get(CRM_CREATING)
        done = set(touched)
        left = {g: t for g, t in self.keys.items() if g not in done and (g not in google or not google[g].in_scope)}
        if left:
            self.cursor.extra[CRM_CREATING] = left
        else:
            self.cursor.extra.pop(CRM_CREATING, None)
            self.cursor.extra.pop(CRM_CREATING_AT, None)
        return self.cursor.extra.get(CRM_CREATING) != before

    def _cap_creates(self, plan: Plan, limit: int) -> bool:
        creates = _crm_creates(plan)
        if len(creates) <= limit:
            return False
        later = {id(s) for s in creates[limit:]}
        plan.steps = [s for s in plan.steps if id(s) not in later]
        return True

    def _remember_creates(self, plan: Plan) -> bool:
        new = {
            gid: self.keys.get(gid) or version_tag(s.google_version)
            for s in _crm_creates(plan)
            if (gid := s.google_id) is not None
        }
        if set(new.items()) <= set(self.keys.items()):
            return False
        self.keys.update(new)
        self.cursor.extra[CRM_CREATING] = dict(self.keys)
        if not isinstance(self.cursor.extra.get(CRM_CREATING_AT), str):
            self.cursor.extra[CRM_CREATING_AT] = self.clock().isoformat()
        return True


def _crm_creates(plan: Plan) -> list[Step]:
    """Steps creating a CRM record for an unlinked Google record."""
    return [
        s
        for s in plan.steps
        if s.google_id and s.link is None and any(w.side is Side.CRM and w.op is Op.CREATE for w in s.writes)
    ]
