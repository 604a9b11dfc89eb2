"""``FakeSide`` with Google People's propagation delay, for the engine's state machines under the
``realistic`` profile: as at Google ("writes may have a propagation delay of several minutes for
sync requests; incremental syncs are not intended for read-after-write use cases"), every write —
the user's and the engine's own — reaches change listings (full and incremental) only some
listings later, in shuffled order, and a record never goes back to an older version. Reads by id
(``get``) and writes see the truth at once, so a listing can hand the engine a stale version.

The emulator does the same in time (infra/google_emulator/people_replica.py); here the delay is
counted in listings so a state machine replays exactly."""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace

from crmsync.ports import Change, Listing
from tests.support.fakes import FakeSide, _Rec


@dataclass
class LaggingSide(FakeSide):
    """A side whose listings lag its writes by 0..``lag`` listings each (drawn from ``seed``)."""

    lag: int = 2
    seed: int = 0
    listings: int = 0
    pending: list[tuple[int, float, int, str, _Rec | None]] = field(default_factory=list)
    visible: dict[str, _Rec] = field(default_factory=dict)  # what listings show, by id
    visible_log: list[tuple[int, str]] = field(default_factory=list)
    visible_seq: int = 0
    shown: dict[str, int] = field(default_factory=dict)  # id -> truth seq of the version shown

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def _touch(self, rid: str) -> None:
        super()._touch(rid)
        rec = self.records.get(rid)
        snap = replace(rec, canon=dict(rec.canon)) if rec is not None else None
        due = self.listings + self._rng.randint(0, self.lag)
        self.pending.append((due, self._rng.random(), self.seq, rid, snap))

    def propagate(self, *, everything: bool = False) -> None:
        """Show the writes whose delay has passed (or all: minutes went by), in the order they arrive."""
        ready = sorted(p for p in self.pending if everything or p[0] <= self.listings)
        self.pending = [p for p in self.pending if not (everything or p[0] <= self.listings)]
        for _, _, truth_seq, rid, snap in ready:
            if self.shown.get(rid, -1) > truth_seq:
                continue  # a later version of this record arrived first: never go back
            self.shown[rid] = truth_seq
            if snap is None:
                self.visible.pop(rid, None)
            else:
                self.visible[rid] = snap
            self.visible_seq += 1
            self.visible_log.append((self.visible_seq, rid))

    def _shown_change(self, rid: str) -> Change:
        rec = self.visible.get(rid)
        if rec is None:
            return Change(rid, None)
        return Change(rid, dict(rec.canon), rec.updated_at, str(rec.version), rec.in_scope, rec.hint)

    def list_changes(self, token: str | None) -> Listing:
        self._call("list")
        self.listings += 1
        self.propagate()
        if token is not None and int(token) > self.expired_below:
            after = int(token)
            ids = list(dict.fromkeys(rid for s, rid in self.visible_log if s > after))
            return Listing([self._shown_change(r) for r in ids], str(self.visible_seq), full=False)
        return Listing([self._shown_change(r) for r in self.visible], str(self.visible_seq), full=True)

    def expire_tokens(self) -> None:
        """Every sync token issued so far is expired."""
        self.expired_below = self.visible_seq
