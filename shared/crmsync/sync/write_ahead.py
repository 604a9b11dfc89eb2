"""What a run records in its kind's cursor before it sends anything, so that a run that loses a
reply, stops or dies leaves state from which the next run converges: the idempotency keys of its
CRM creates (a retry replays them, never twins) and the conflicts it resolves (reported by the
next run if this one cannot)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from pydantic_core import to_jsonable_python

from ..model.cursor import Cursor, PendingConflict, PendingCreates, PendingRecreates
from ..model.kinds import Side
from ..model.link import Link, content_hash
from ..model.names import record_name
from ..ports import Change, LinkStore
from .apply import version_tag
from .plan import Op, Plan, Step

MAX_UNREPORTED = 500  # conflicts kept waiting in ``cursor.unreported_conflicts``
CLOCK_SKEW = timedelta(minutes=5)  # between our clock and the CRM's record times
KEY_MARGIN = timedelta(hours=1)  # a create key is taken as forgotten this long before the CRM's retention ends
log = logging.getLogger(__name__)


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


def _pending(conflicts: Iterable[dict[str, Any]]) -> list[PendingConflict]:
    return [PendingConflict.model_validate(to_jsonable_python(c)) for c in conflicts]


class WriteAhead:
    """One run's write-ahead state in its cursor (``cursor`` is this run's copy; saved here only
    when something new must survive the run, otherwise with the run's own cursor save)."""

    def __init__(
        self,
        store: LinkStore,
        cursor: Cursor,
        links: Iterable[Link],
        clock: Callable[[], datetime],
        retention: timedelta | None = None,
    ) -> None:
        self.store, self.cursor, self.clock = store, cursor, clock
        # A create key whose Google record has a link was confirmed (by a run that saved the link
        # and then stopped): it must never replay again.
        linked = {lk.google_id for lk in links}
        self.keys: dict[str, str] = {g: t for g, t in cursor.crm_creating.keys.items() if g not in linked}
        since = cursor.crm_creating.since
        if self.keys and retention is not None and since is not None and clock() - since > retention - KEY_MARGIN:
            # The CRM has forgotten these keys (its declared retention): a replay would make a second
            # record. They are not replayed; each Google record is paired with the record its lost
            # create made by the kind's first-sync keys, like any unlinked pair, or created anew.
            log.warning(
                "%d pending create(s) older than the CRM's key retention: matched, not replayed", len(self.keys)
            )
            self.keys = {}
            self.cursor.crm_creating = PendingCreates()
        self.sent_before = frozenset(self.keys)  # Google ids whose create this run retries
        # Re-creates into Google an earlier run sent without completing (CRM id -> hash of what was sent).
        self.recreates: dict[str, str] = dict(cursor.google_recreating.sent)
        # Conflicts from a run that died before it reported them, as reported.
        self.earlier: list[dict[str, Any]] = [c.model_dump(mode="json") for c in cursor.unreported_conflicts]
        self.reported = False  # waiting conflicts were reported: the cursor must be saved

    def possibly_ours(
        self, crm: Mapping[str, Change], google: Mapping[str, Change], links: Iterable[Link]
    ) -> frozenset[str]:
        """New CRM records listed since creates whose reply was lost were sent, when those creates
        are retried now: one of them may be the record such a create made, so none is matched or
        copied before the retries (replays) say which (the caller keeps the run incomplete: the
        next run, from the same cursors, plans the rest)."""
        sent_at = self.cursor.crm_creating.since
        retried = [g for g in self.keys if g in google and google[g].canon is not None and google[g].in_scope]
        if not retried or sent_at is None:
            return frozenset()
        since = sent_at - CLOCK_SKEW
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
        conflicts = _pending(c for step in plan.steps for c in conflict_dicts(step))
        capped = self._cap_creates(plan, max_crm_creates)
        changed = self._remember_creates(plan)
        changed = self._remember_recreates(plan) or changed
        waiting = list(self.cursor.unreported_conflicts)
        if any(c not in waiting for c in conflicts):
            new = waiting + [c for c in conflicts if c not in waiting]
            self.cursor.unreported_conflicts = tuple(new[-MAX_UNREPORTED:])
            changed = True
        if changed:
            self.store.save_cursor(self.cursor)
        return capped

    def forget_reported(self, reported: list[dict[str, Any]], complete: bool) -> None:
        """Conflicts waiting in the cursor that this run's report carries are not waiting any more
        (a run that stops part-way still reports; only a killed one does not)."""
        waiting = list(self.cursor.unreported_conflicts)
        done = _pending(reported)
        left = [c for c in waiting if c not in done]
        if left == waiting:
            return
        self.reported = True
        self.cursor.unreported_conflicts = tuple(left)
        if not complete:
            self.store.save_cursor(self.cursor)  # a complete run saves its cursor anyway

    def move_on(self, dead: Iterable[Link]) -> None:
        """Keys that replayed records deleted since get a new source, so the next run creates anew."""
        for lk in dead:
            self.keys[lk.google_id] = f"{self.keys.get(lk.google_id, '')}-after-{lk.crm_id}"
        self.cursor.crm_creating = self.cursor.crm_creating.model_copy(update={"keys": dict(self.keys)})
        self.store.save_cursor(self.cursor)

    def settle_keys(self, google: Mapping[str, Change], touched: Iterable[str]) -> bool:
        """After a complete run, forget the create keys it confirmed or unlinked (``touched``
        Google ids) or settled (the Google record was listed: deleted, or refused by the CRM);
        keep those of Google records out of scope meanwhile — when they come back, their create
        replays, never twins. True if the keys changed."""
        before = self.cursor.crm_creating
        done = set(touched)
        left = {g: t for g, t in self.keys.items() if g not in done and (g not in google or not google[g].in_scope)}
        self.cursor.crm_creating = before.model_copy(update={"keys": left}) if left else PendingCreates()
        return self.cursor.crm_creating.keys != before.keys

    def settle_recreates(self) -> bool:
        """After a complete run: every re-create into Google sent so far has its link saved (this run's
        own, or an earlier one's adopted by this run, whose listing showed the record). True if the
        cursor changed."""
        if not self.cursor.google_recreating.sent:
            return False
        self.recreates = {}
        self.cursor.google_recreating = PendingRecreates()
        return True

    def _remember_recreates(self, plan: Plan) -> bool:
        new = {
            s.link.crm_id: content_hash(w.full)
            for s in plan.steps
            if s.link is not None and (w := s.write_to(Side.GOOGLE)) is not None and w.op is Op.CREATE
        }
        if set(new.items()) <= set(self.recreates.items()):
            return False
        self.recreates.update(new)
        self.cursor.google_recreating = PendingRecreates(sent=dict(self.recreates))
        return True

    def _cap_creates(self, plan: Plan, limit: int) -> bool:
        creates = _crm_creates(plan)
        if len(creates) <= limit:
            return False
        later = {id(s) for s in creates[limit:]}
        plan.steps = [s for s in plan.steps if id(s) not in later]
        return True

    def _remember_creates(self, plan: Plan) -> bool:
        new = {
            gid: self.keys.get(gid) or version_tag(s.google.version)
            for s in _crm_creates(plan)
            if (gid := s.google_id) is not None
        }
        if set(new.items()) <= set(self.keys.items()):
            return False
        self.keys.update(new)
        since = self.cursor.crm_creating.since or self.clock()
        self.cursor.crm_creating = PendingCreates(keys=dict(self.keys), since=since)
        return True


def _crm_creates(plan: Plan) -> list[Step]:
    """Steps creating a CRM record for an unlinked Google record."""
    return [
        s
        for s in plan.steps
        if s.google_id and s.link is None and any(w.side is Side.CRM and w.op is Op.CREATE for w in s.writes)
    ]
