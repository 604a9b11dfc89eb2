"""Sync one kind of one connection: pull both sides, reconcile, apply, persist
links, and only then advance the cursors."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from ..errors import MassDeleteBlocked, TransientError
from ..model.cursor import Cursor
from ..model.kinds import Kind, Side
from ..model.link import Link
from ..model.settings import KindSettings
from ..ports import Change, ForgetsKeys, HoldsStandIns, LinkStore, Listing, RecordSide
from .apply import Applied, Budget, apply_plan
from .approvals import UserChoices, choices_of, keep_choices
from .choices import decide
from .fill import filled_bases
from .moved_ids import old_ids
from .names import key, names_of
from .plan import Plan, Rule, doomed
from .reads import fetch_hinted, links_for, reread_parked
from .reconcile import Inputs, MatchKeys, reconcile
from .report import KindReport, RunInterrupted
from .retry import reread_failed, retry_list
from .table import StandIns
from .write_ahead import WriteAhead, conflict_dicts

Progress = Callable[[str, int, int], None]  # (phase, done, total)
MAX_REMERGE_ROUNDS = 2


def _by_id(listing: Listing) -> dict[str, Change]:
    # A feed may report one record more than once; the last report is its current state.
    return {c.id: c for c in listing.changes}


@dataclass
class KindSync:
    """The sync of one kind for one connection, wired to its two sides and its links."""

    kind: Kind
    crm: RecordSide
    google: RecordSide
    store: LinkStore
    settings: KindSettings
    clock: Callable[[], datetime]
    budget: Budget = lambda: True
    match_keys: MatchKeys | None = None
    progress: Progress | None = None
    # List both sides in full at least this often (records entering a time window without an
    # edit appear in no incremental feed); None: only when the cursor asks for it.
    full_every: timedelta | None = None
    # CRM creates per run: their keys take ~40 bytes each in the cursor document (Firestore's limit
    # is 1 MiB); a continuation run does the rest.
    max_crm_creates: int = 10_000
    _link_changes: dict[str, tuple[Link, bool]] = field(default_factory=dict, init=False)  # by doc: (link, keep)
    # Called with the kind's report once it is final, before the cursor forgets the conflicts
    # waiting in it: the caller persists it, so a process that dies later loses nothing.
    on_report: Callable[[KindReport], None] | None = None
    # Fields newly mapped this run, filled from the side the admin chose (canonical key -> side; sync/fill.py).
    fill: dict[str, Side] = field(default_factory=dict)
    _unfinished: list[str] = field(default_factory=list, init=False)  # why this run is not complete
    _relist: bool = field(default=False, init=False)  # list both sides in full next run (see _check_replays)
    _ahead: WriteAhead | None = field(default=None, init=False)  # this run's write-ahead state
    _failed: list[tuple[Side, str]] = field(default_factory=list, init=False)  # records to retry next run
    _listed: dict[Side, dict[str, Change]] = field(default_factory=dict, init=False)  # this run's listing

    def run(self) -> KindReport:
        """One pass; raises ``TransientError`` (retry later) or ``SafetyStop``."""
        report = KindReport(self.kind)
        cursor = self.store.cursor(self.kind)
        choices = choices_of(cursor)
        if choices.values:
            choices = self._use_values(choices, cursor, report)
        retry = cursor.retry
        full = cursor.full_sync or self._full_due(cursor) or retry.overflow
        self._progress("listing google", 0, 1)
        g_listing = self.google.list_changes(None if full else cursor.google_token)
        self._progress("listing crm", 0, 1)
        c_listing = self.crm.list_changes(None if full else cursor.crm_cursor)
        google, crm = _by_id(g_listing), _by_id(c_listing)
        report.listed = {"google": len(google), "crm": len(crm)}
        self._listed = {Side.CRM: crm, Side.GOOGLE: google}
        reread_failed(retry, Side.CRM, self.crm, crm)  # records earlier runs could not sync: until they do
        reread_failed(retry, Side.GOOGLE, self.google, google)
        report.full = g_listing.full or c_listing.full
        links = links_for(self.store, self.kind, crm, google, all_links=report.full)
        reread_parked(self._sides(), crm, google, links, crm_full=c_listing.full, google_full=g_listing.full)
        crm_gone = fetch_hinted(self.crm, crm, google, links)
        retention = self.crm.key_retention() if isinstance(self.crm, ForgetsKeys) else None
        ahead = self._ahead = WriteAhead(self.store, cursor, links, self.clock, retention)
        defer = ahead.possibly_ours(crm, google, links)
        if defer:
            self._unfinished.append(
                f"{len(defer)} new CRM record(s) wait until retried creates tell which are theirs (next run)"
            )
        inputs = Inputs(
            self.kind,
            crm,
            google,
            filled_bases(links, crm, google, self.fill),
            self.settings,
            c_listing.full,
            g_listing.full,
            self.match_keys,
            crm_gone,
            ahead.sent_before,
            defer,
            self._stand_ins(),
            choices.restoring(),
            dict(ahead.recreates),
        )
        plan = reconcile(inputs)
        self._check_deletes(plan, len(links) if report.full else None, choices, report)
        _count_kept(plan, report)
        answered = choices.stop is not None
        if answered:  # applied (or, for a set that changed, stopped again): the next stop asks anew
            keep_choices(cursor, choices.model_copy(update={"stop": None}))
        self._write_ahead(plan)
        applied = self._apply(plan, report)
        interrupted = applied.interrupted
        self._drop_dead_replays(applied, crm)
        reread = _replayed_since(applied, crm) + applied.recreated + applied.unconfirmed + old_ids(applied, google)
        try:
            for _ in range(MAX_REMERGE_ROUNDS):
                again = [s.link for s in applied.conflicted if s.link is not None] + reread
                if interrupted is not None or not again:
                    break
                applied = self._remerge(list({lk.doc_id: lk for lk in again}.values()), report, crm)
                interrupted, reread = applied.interrupted, applied.recreated + applied.unconfirmed
        except TransientError as err:
            interrupted = err
        self._save_links()
        report.conflicts.extend(c for c in ahead.earlier if c not in report.conflicts)
        # Still to merge after the last round: the cursors stay, so the next run sees it all again.
        report.incomplete = list(dict.fromkeys(self._unfinished))
        if applied.conflicted:
            report.incomplete.append(
                f"{len(applied.conflicted)} record(s) changed while written: merged again next run"
            )
        if reread:
            report.incomplete.append(f"{len(reread)} record(s) to re-read after a create's reply: next run")
        if interrupted is not None:
            report.incomplete.append(f"interrupted by a temporary failure: {interrupted}")
        report.complete = not report.incomplete
        if interrupted is None:  # every record to retry was read again: those not failing now synced
            failing = set(self._failed)
            report.cleared = [key(s, r) for s in Side for r in retry.ids(s) if (s, r) not in failing]
        if self.on_report is not None:
            self.on_report(report)
        ahead.forget_reported(report.conflicts, report.complete)
        if interrupted is not None:
            raise RunInterrupted(interrupted, report) from interrupted
        unchanged = (cursor.google_token, cursor.crm_cursor) == (g_listing.next_token, c_listing.next_token)
        keys_moved = report.complete and ahead.settle_keys(
            google, (lk.google_id for lk, _ in self._link_changes.values())
        )
        recreates_settled = report.complete and ahead.settle_recreates()
        failed = retry_list(self._failed)
        pending = keys_moved or recreates_settled or self._relist or ahead.reported or failed != retry or answered
        if report.complete and not (unchanged and not full and not pending):
            cursor.google_token = g_listing.next_token
            cursor.crm_cursor = c_listing.next_token
            cursor.full_sync = self._relist
            cursor.retry = failed
            cursor.updated_at = self.clock()
            if full:
                cursor.listed_in_full_at = cursor.updated_at
            self.store.save_cursor(cursor)
        return report

    def _stand_ins(self) -> dict[Side, StandIns]:
        """Each side's answer to "what would you keep instead of this value", where it has one."""
        sides: dict[Side, object] = {Side.CRM: self.crm, Side.GOOGLE: self.google}
        return {s: side.stand_ins for s, side in sides.items() if isinstance(side, HoldsStandIns)}

    def _write_ahead(self, plan: Plan) -> None:
        """See ``WriteAhead.record``: before anything is sent."""
        assert self._ahead is not None, "run() starts the write-ahead state first"
        if self._ahead.record(plan, self.max_crm_creates):
            self._unfinished.append(f"more than {self.max_crm_creates} CRM creates: the rest follow in the next run")

    def _full_due(self, cursor: Cursor) -> bool:
        if self.full_every is None:
            return False
        last = cursor.listed_in_full_at
        return last is None or self.clock() - last >= self.full_every

    # ----------------------------------------------------------------- steps

    def _check_deletes(self, plan: Plan, linked: int | None, choices: UserChoices, report: KindReport) -> None:
        deletes = plan.deletes_of_linked()
        if deletes <= self.settings.max_delete_floor:
            return
        total = linked if linked is not None else self.store.count_links(self.kind)
        if deletes > self.settings.max_delete_share * total:
            records = doomed(plan, self.kind)
            if choices.approves_deletes(deletes, records):
                report.approved_deletes = deletes  # the user said "Delete them" to exactly these
                return
            raise MassDeleteBlocked(self.kind.value, deletes, total, self.settings.max_delete_share, records)

    def _use_values(self, choices: UserChoices, cursor: Cursor, report: KindReport) -> UserChoices:
        """Write the values the user chose for conflicts into both sides, before the run lists
        anything (its listing then reads them as our own writes); the links and the cursor, without
        the choices used, are saved at once. A choice whose write met a newer version stays for the
        next run, which checks it again."""
        links = self.store.links_by_crm(self.kind, sorted({v.crm_id for v in choices.values}))
        crm = self.crm.get(sorted({lk.crm_id for lk in links.values()}))
        google = self.google.get(sorted({lk.google_id for lk in links.values()}))
        decisions = [decide(self.kind, v, links.get(v.crm_id), crm, google, self.settings) for v in choices.values]
        applied = self._apply(Plan([d.step for d in decisions if d.step is not None]), report)
        again = {id(s) for s in applied.conflicted} | {
            id(s) for s in (d.step for d in decisions) if s is not None and s.writes and id(s) not in applied.attempted
        }
        failed = set(applied.failed)
        left = []
        for d in decisions:
            if d.step is not None and id(d.step) in again:
                left.append(d.choice)
                continue
            broken = d.step is not None and {(Side.CRM, d.choice.crm_id), (Side.GOOGLE, d.choice.google_id)} & failed
            report.choices.append({**d.as_dict(), **({"applied": False, "outcome": "failed"} if broken else {})})
        self._save_links()
        self._link_changes.clear()
        remaining = choices.model_copy(update={"values": left})
        keep_choices(cursor, remaining)
        self.store.save_cursor(cursor)
        return remaining

    def _sides(self) -> dict[Side, RecordSide]:
        return {Side.CRM: self.crm, Side.GOOGLE: self.google}

    def _apply(self, plan: Plan, report: KindReport) -> Applied:
        sides = self._sides()
        self._progress("applying", 0, sum(len(s.writes) for s in plan.steps))
        keys = self._ahead.keys if self._ahead is not None else {}
        applied = apply_plan(plan, self.kind, sides, now=self.clock(), budget=self.budget, keys=keys)
        for (side, op), n in applied.done.items():
            key = f"{side.value}.{op.value}"
            report.writes[key] = report.writes.get(key, 0) + n
        report.errors.extend(applied.errors)
        self._failed += plan.skipped + applied.failed
        report.notes.extend(f"{n.side.value} {n.record_id}: {n.message}" for n in plan.notes)
        report.notes.extend(applied.notes)
        noted = {(n.side, n.record_id) for n in plan.notes} | set(plan.skipped) | set(applied.failed)
        report.names.update(names_of(self.kind, noted, self._listed, plan.steps))
        conflicted = {id(s) for s in applied.conflicted}
        for step in plan.steps:
            if id(step) in conflicted or (step.writes and id(step) not in applied.attempted):
                continue  # re-merged, or never sent (budget or a failure): the run that sends it reports it
            report.conflicts.extend(c for c in conflict_dicts(step) if c not in report.conflicts)
        # A re-merge may undo what an earlier apply of this run did (a link it saved is dropped): the latest wins.
        self._link_changes.update({lk.doc_id: (lk, False) for lk in applied.deletes})
        self._link_changes.update({lk.doc_id: (lk, True) for lk in applied.upserts})
        if applied.stopped:
            self._unfinished.append("the run's time budget ran out before every write was sent: continued next run")
        if applied.transient:
            self._unfinished.append("some writes failed temporarily: retried next run")
        return applied

    def _remerge(self, links: list[Link], report: KindReport, listed: dict[str, Change]) -> Applied:
        """Re-read the records of ``links`` (a write hit a newer version, or a replayed create
        returned an old one), and merge again."""
        crm = self.crm.get([lk.crm_id for lk in links])
        # A get does not say whether a CRM record is in the sync's scope; this run's listing does
        # (nothing we write changes the scope): a replayed create's record the user took out of
        # scope meanwhile stays out — merged as in scope, it was written to, and the next run
        # applied the delete rule to the Google record the user had just edited.
        crm.update({i: replace(ch, in_scope=False) for i, ch in crm.items() if i in listed and not listed[i].in_scope})
        google = self.google.get([lk.google_id for lk in links])
        # A record the re-read no longer finds is gone (not "unchanged").
        crm.update({lk.crm_id: Change(lk.crm_id, None) for lk in links if lk.crm_id not in crm})
        google.update({lk.google_id: Change(lk.google_id, None) for lk in links if lk.google_id not in google})
        inputs = Inputs(self.kind, crm, google, links, self.settings, False, False, self.match_keys)
        plan = reconcile(inputs)
        self._write_ahead(plan)
        return self._apply(plan, report)

    def _save_links(self) -> None:
        """Persist this run's link changes, one per link document."""
        changes = self._link_changes.values()
        upserts = [lk for lk, keep in changes if keep]
        self._check_replays(upserts)
        self.store.save_links(upserts, [lk for lk, keep in changes if not keep])

    def _drop_dead_replays(self, applied: Applied, listed: dict[str, Change]) -> None:
        """A create retried with a key kept from an earlier run replays the record that key made,
        even one the user has deleted since (while its Google source was out of scope): such a
        link is dropped and the key moved on, so the next run creates a new record."""
        assert self._ahead is not None
        suspects = [
            lk for lk in applied.crm_created if lk.google_id in self._ahead.sent_before and lk.crm_id not in listed
        ]
        if not suspects:
            return
        alive = self.crm.get([lk.crm_id for lk in suspects])
        dead = [lk for lk in suspects if lk.crm_id not in alive or alive[lk.crm_id].canon is None]
        for lk in dead:
            self._link_changes.pop(lk.doc_id, None)
        if dead:
            self._ahead.move_on(dead)
            self._unfinished.append(f"{len(dead)} retried create(s) found their record deleted: made anew next run")

    def _check_replays(self, upserts: list[Link]) -> None:
        """A CRM create retried from an earlier run (its key kept in the cursor) may return a record
        that meanwhile got a Google copy of its own (its Google source was out of scope then): that
        copy loses its link here, so both sides are listed in full next run, where it is found by
        the CRM id it carries and deleted as ours and a duplicate."""
        sent_before = self._ahead.sent_before if self._ahead is not None else frozenset()
        retried = {lk.crm_id: lk for lk in upserts if lk.google_id in sent_before}
        if not retried:
            return
        before = self.store.links_by_crm(self.kind, sorted(retried))
        if any(old.google_id != retried[cid].google_id for cid, old in before.items()):
            self._relist = True

    def _progress(self, phase: str, done: int, total: int) -> None:
        if self.progress is not None:
            self.progress(phase, done, total)


def _replayed_since(applied: Applied, crm: dict[str, Change]) -> list[Link]:
    """Links to CRM records a create returned that this run's CRM listing already reported at
    another version: the create was a replay (a lost reply), and a replay returns the record as
    first created, not as it is now. Their CRM side is re-read, or a later edit would be lost."""
    return [
        lk for lk in applied.crm_created if lk.crm_id in crm and crm[lk.crm_id].version not in (None, lk.crm.version)
    ]


def _count_kept(plan: Plan, report: KindReport) -> None:
    """The pairs the user kept after a safety stop, per side restored (or parked, out of scope)."""
    for step in plan.steps:
        for side in Side:
            if step.rule in (Rule.on(side, "restored"), Rule.on(side, "left_scope_kept")):
                report.restored[side.value] = report.restored.get(side.value, 0) + 1
