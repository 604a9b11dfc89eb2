"""The change log sync listings walk, and the lagging replica that serves them when writes
take time to propagate (People: "writes may have a propagation delay of several minutes for
sync requests; incremental syncs are not intended for read-after-write use cases").

``ContactLog`` is the contacts by key plus an append-only ``(seq, key)`` log; a listing walks
the log from a position found by bisection, skipping superseded entries. ``PeopleStore`` is
one (the truth, read by get and batchGet); ``Replica`` is another, fed by the store's writes
after a random delay each, in the order the delays elapse (so writes arrive shuffled; one
contact never goes back to an older version).
"""

from __future__ import annotations

import bisect
import heapq
import random
from dataclasses import replace
from typing import Any

from .people_contact import Contact


class ContactLog:
    """Contacts by key and the change log over them."""

    def __init__(self) -> None:
        self.contacts: dict[str, Contact] = {}
        self.live = 0
        self.seq = 0
        self.log_seqs: list[int] = []
        self.log_keys: list[str] = []
        self.sorted_cache: dict[tuple[Any, ...], list[str]] = {}

    def _append(self, contact: Contact) -> None:
        self.log_seqs.append(contact.seq)
        self.log_keys.append(contact.key)
        if len(self.log_seqs) > 2 * len(self.contacts) + 1024:
            self._compact()

    def _compact(self) -> None:
        entries = sorted((c.seq, c.key) for c in self.contacts.values())
        self.log_seqs = [s for s, _ in entries]
        self.log_keys = [k for _, k in entries]

    def changes(self, after: int, upto: int, limit: int | None = None) -> list[tuple[int, str]]:
        """Log entries with ``after < seq <= upto`` still current, oldest first (tombstones included)."""
        start = bisect.bisect_right(self.log_seqs, after)
        end = bisect.bisect_right(self.log_seqs, upto)
        out: list[tuple[int, str]] = []
        for i in range(start, end):
            key = self.log_keys[i]
            if self.contacts[key].seq == self.log_seqs[i]:
                out.append((self.log_seqs[i], key))
                if limit is not None and len(out) >= limit:
                    break
        return out

    def log_slice(self, after: int, upto: int, limit: int, *, descending: bool = False) -> list[Contact]:
        """Up to ``limit`` live contacts in change order strictly after (or before) the cursor ``after``."""
        out: list[Contact] = []
        if descending:
            i = bisect.bisect_left(self.log_seqs, min(after, upto + 1)) - 1
            step, stop = -1, -1
        else:
            i = bisect.bisect_right(self.log_seqs, after)
            step, stop = 1, len(self.log_seqs)
        while i != stop and len(out) < limit:
            seq = self.log_seqs[i]
            if not descending and seq > upto:
                break
            contact = self.contacts[self.log_keys[i]]
            if contact.seq == seq and not contact.deleted:
                out.append(contact)
            i += step
        return out


def snapshot(contact: Contact) -> Contact:
    """A frozen copy of a contact as it is now (its lists are replaced, never mutated, on write)."""
    return replace(contact, fields=dict(contact.fields), groups=list(contact.groups), cache=None)


class Replica(ContactLog):
    """What sync listings and search see: the store's writes, each after its own delay."""

    def __init__(self, contacts: list[Contact], max_delay: float, seed: str) -> None:
        super().__init__()
        self.max_delay = max_delay
        self.rng = random.Random(seed)
        self.pending: list[tuple[float, int, int, Contact]] = []  # (visible at, order, truth seq, snapshot)
        self.shown: dict[str, int] = {}  # key -> truth seq of the version shown
        self._order = 0
        for contact in sorted(contacts, key=lambda c: c.seq):
            self._show(snapshot(contact), contact.seq)

    def record(self, contact: Contact, now: float) -> None:
        """The store wrote ``contact``: it becomes visible after a random delay."""
        self._order += 1
        visible_at = now + self.rng.uniform(0.0, self.max_delay)
        heapq.heappush(self.pending, (visible_at, self._order, contact.seq, snapshot(contact)))

    def catch_up(self, now: float | None) -> None:
        """Show every write whose delay has elapsed (all of them when ``now`` is None)."""
        while self.pending and (now is None or self.pending[0][0] <= now):
            _, _, truth_seq, snap = heapq.heappop(self.pending)
            if self.shown.get(snap.key, -1) < truth_seq:
                self._show(snap, truth_seq)

    def _show(self, snap: Contact, truth_seq: int) -> None:
        old = self.contacts.get(snap.key)
        self.live += (0 if snap.deleted else 1) - (1 if old is not None and not old.deleted else 0)
        self.seq += 1
        snap.seq = self.seq
        self.contacts[snap.key] = snap
        self.shown[snap.key] = truth_seq
        self._append(snap)
