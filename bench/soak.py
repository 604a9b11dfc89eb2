"""The end-to-end soak: real processes, two users editing both sides, faults, then quiet runs and
an invariant check against the driver's own edit log (see ``soak_check``).

    python -m bench.soak --minutes 20 --seed 7      -> bench/results/soak.json

Processes: the official Firestore emulator, the Google Workspace emulator, the reference CRM
(seeded with demo data and every tricky record) and one process per sync run (the worker's task
handler). While a run goes on, the users edit (creates, edits, deletes, the same field on both
sides of a pair). Faults: Google 429/500/503/dropped connections and per-minute quotas, sync
processes SIGKILLed mid-run, the CRM SIGKILLed mid-run (and restarted on its database), sync
tokens expired, and Firestore emptied once (the connection is then made again, as a reconnect
would, and every record is matched again without a base).
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import requests

from bench.soak_check import Final, Groups, check
from bench.soak_users import FIELD, KINDS, CrmUser, EditLog, GoogleUser
from bench.soak_world import ACCOUNT, CONNECTION, Processes, connect, start_sync
from crmsync.crm.port import CrmError
from crmsync.model.kinds import Kind
from crmsync.services.worker import WorkerSettings

RESULTS = Path(__file__).resolve().parent / "results"
# A killed sync's lease runs out after the worker's lease length (its heartbeat died with it).
LEASE_WAIT = WorkerSettings().lease_seconds + 30
BUSY_PAUSE_S = 5.0


class Soak:
    def __init__(self, procs: Processes, seed: int) -> None:
        self.procs, self.rng = procs, random.Random(seed)
        self.log = EditLog()
        self.groups = Groups()
        self.conflicts: dict[tuple[Any, ...], dict[str, Any]] = {}
        self.stats = dict.fromkeys(
            ("runs", "sync_killed", "crm_killed", "token_expiries", "fault_runs", "quota_runs", "firestore_emptied"), 0
        )
        self.stats["quiet_busy"] = 0  # quiet runs that found a killed sync's lease still live (not counted)
        self.outcomes: dict[str, int] = {}
        self.user_id = connect(procs)
        self.crm = CrmUser(procs.crm, procs.crm_key, self.user_id, self.log, self.rng)
        self.google = GoogleUser(procs.google, ACCOUNT, self.log, self.rng)
        self.tasks = 0
        self.rounds = 0  # the first fault rounds force each fault once (a short soak sees them all)

    # ------------------------------------------------------------ one round: edits during a run, faults

    def round(self, *, faults: bool) -> dict[str, Any]:
        g = self.procs.google + "/__emulator"
        self.rounds += 1
        forced = {2: "kill_sync", 3: "kill_crm", 4: "expire", 5: "faults"}.get(self.rounds) if faults else None
        if forced == "expire":
            requests.post(g + "/expire-sync-tokens", json={}, timeout=30)
            self.stats["token_expiries"] += 1
        if forced == "faults":
            requests.post(
                g + "/faults", json={"method": "*", "probability": 0.1, "errors": ["429", "503", "drop"]}, timeout=30
            )
            self.stats["fault_runs"] += 1
        if faults and not forced:
            if self.rng.random() < 0.4:
                errors = self.rng.sample(["429", "500", "503", "drop"], self.rng.randint(1, 3))
                requests.post(g + "/faults", json={"method": "*", "probability": 0.05, "errors": errors}, timeout=30)
                self.stats["fault_runs"] += 1
            if self.rng.random() < 0.15:
                requests.post(g + "/quotas", json={"limits": {"calendar": 40, "people": 60}}, timeout=30)
                self.stats["quota_runs"] += 1
            if self.rng.random() < 0.1:
                requests.post(g + "/expire-sync-tokens", json={}, timeout=30)
                self.stats["token_expiries"] += 1
        kill_sync = forced == "kill_sync" or (faults and not forced and self.rng.random() < 0.15)
        kill_crm = forced == "kill_crm" or (faults and not forced and not kill_sync and self.rng.random() < 0.08)
        result = self.run(
            kill_after=self.rng.uniform(0.5, 6) if kill_sync else None,
            crm_dies=self.rng.uniform(0.3, 4) if kill_crm else None,
            edits=self.rng.randint(0, 6) if faults else 0,
        )
        requests.post(g + "/faults", json={"clear": True}, timeout=30)
        requests.post(g + "/quotas", json={"clear": True}, timeout=30)
        return result

    def run(self, *, kill_after: float | None = None, crm_dies: float | None = None, edits: int = 0) -> dict[str, Any]:
        self.tasks += 1
        proc = start_sync(self.procs, f"soak-{self.tasks}")
        timer = threading.Timer(crm_dies, self.procs.kill_crm) if crm_dies is not None else None
        if timer is not None:
            timer.start()
        started = time.monotonic()
        self.edit(edits)
        result = proc.finish(None if kill_after is None else max(0.1, kill_after - (time.monotonic() - started)))
        if timer is not None:
            timer.join()
            self.procs.start_crm()
            self.stats["crm_killed"] += 1
        self.stats["runs"] += 1
        self.stats["sync_killed"] += bool(result.get("killed"))
        outcome = "killed" if result.get("killed") else str(result.get("outcome"))
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1
        self.observe(f"run {self.tasks}: {outcome}, edits up to #{len(self.log.edits)}")
        return result

    def edit(self, n: int) -> None:
        """``n`` user actions on either side (an edit of the same field on both sides of a pair among them)."""
        for _ in range(n):
            kind = self.rng.choice(KINDS)
            value = f"{self.rng.choice(('Anna', 'Ben', 'Cleo', 'Dara', 'Emil'))}-{len(self.log.edits) + 1}"
            action = self.rng.random()
            try:
                if action < 0.2:
                    (self.crm if self.rng.random() < 0.5 else self.google).create(kind, value, len(self.log.edits) + 1)
                elif action < 0.35:
                    self._both(kind, value)
                elif action < 0.9:
                    self._one(kind, value, delete=False)
                else:
                    self._one(kind, value, delete=True)
            except (requests.RequestException, CrmError):
                continue  # the CRM is down right now: the user tries later

    def _one(self, kind: str, value: str, *, delete: bool) -> None:
        if self.rng.random() < 0.5:
            recs = self.crm.records(kind)
            if recs:
                rid = self.rng.choice(sorted(recs))
                self.crm.delete(kind, rid) if delete else self.crm.edit(kind, rid, value)
        else:
            grecs = {k: v for k, v in self.google.records(kind).items() if not v.get("recurringEventId")}
            if grecs:
                rid = self.rng.choice(sorted(grecs))
                self.google.delete(kind, rid, grecs[rid]) if delete else self.google.edit(kind, rid, grecs[rid], value)

    def _both(self, kind: str, value: str) -> None:
        links = list(self.procs.store().connection_store(CONNECTION).all_links(Kind(kind)))
        grecs = self.google.records(kind)
        links = [lk for lk in links if lk.google_id in grecs]
        if links:
            lk = self.rng.choice(sorted(links, key=lambda k: k.crm_id))
            self.crm.edit(kind, lk.crm_id, value)
            self.google.edit(kind, lk.google_id, grecs[lk.google_id], value + "g")

    # ------------------------------------------------------------ observing

    def observe(self, event: str = "") -> None:
        """Links (joined into groups) and the conflicts every run reported, after each run; with a
        line in ``timeline.jsonl`` (the event, the links and the last run's writes) to trace a violation."""
        store = self.procs.store()
        links = store.connection_store(CONNECTION)
        pairs: dict[str, list[tuple[str, str]]] = {}
        for kind in Kind:
            for lk in links.all_links(kind):
                self.groups.join(("crm", kind.value, lk.crm_id), ("google", kind.value, lk.google_id))
                pairs.setdefault(kind.value, []).append((lk.crm_id, lk.google_id))
        conn = store.get_connection(CONNECTION)
        writes = {k: r.get("writes") for k, r in ((conn.last_run or {}).get("kinds") or {}).items()} if conn else {}
        line = {"t": round(time.monotonic(), 2), "event": event, "writes": writes, "links": pairs}
        with (self.procs.work / "timeline.jsonl").open("a") as out:
            out.write(json.dumps(line) + "\n")
        for run in store.recent_runs(CONNECTION, 100):
            for rep in (run.get("kinds") or {}).values():
                for c in rep.get("conflicts") or []:
                    row = {"kind": rep.get("kind"), **c}
                    self.conflicts[tuple(sorted((k, str(v)) for k, v in row.items()))] = row

    def empty_firestore(self) -> None:
        self.observe(f"Firestore emptied next, edits up to #{len(self.log.edits)}")
        self.procs.empty_firestore()
        connect(self.procs)
        self.stats["firestore_emptied"] += 1

    def quiet(self, max_runs: int = 14) -> int:
        """Runs with no faults and no edits until two in a row are complete and write nothing. A run
        that finds the connection busy does not count: a sync killed late in the faults holds its
        lease until it runs out (``LEASE_WAIT``), and the next run waits a little first."""
        quiet, n = 0, 0
        lease_out = time.monotonic() + LEASE_WAIT
        while n < max_runs:
            if self.run().get("outcome") == "busy" and time.monotonic() < lease_out:
                self.stats["quiet_busy"] += 1
                time.sleep(BUSY_PAUSE_S)
                continue
            n += 1
            conn = self.procs.store().get_connection(CONNECTION)
            last = (conn.last_run if conn else None) or {}
            kinds = last.get("kinds") or {}
            quiet = quiet + 1 if last.get("complete") and not any(k.get("writes") for k in kinds.values()) else 0
            if quiet == 2:
                return n
        return -1

    def kill_holding_the_lease(self) -> None:
        """Start a sync, SIGKILL it as soon as it holds the connection's lease (a kill at any other moment
        may come before the lease is taken, or after the run ended), and count it as a killed run."""
        self.tasks += 1
        self.stats["runs"] += 1
        store, deadline = self.procs.store(), time.monotonic() + 60
        before = store.get_connection(CONNECTION)
        earlier = before.lease if before is not None else None  # a lease an earlier killed sync left
        proc = start_sync(self.procs, f"soak-{self.tasks}")
        while proc.proc.poll() is None and time.monotonic() < deadline:
            conn = store.get_connection(CONNECTION)
            if conn is not None and conn.lease is not None and conn.lease != earlier:
                break
            time.sleep(0.02)
        result = proc.finish(0.001)
        outcome = "killed" if result.get("killed") else str(result.get("outcome"))
        self.stats["sync_killed"] += bool(result.get("killed"))
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1
        self.observe(f"run {self.tasks}: {outcome} holding the lease, edits up to #{len(self.log.edits)}")

    def final(self) -> Final:
        links = self.procs.store().connection_store(CONNECTION)
        return Final(
            crm={k: {i: CrmUser.value(k, r) for i, r in self.crm.records(k).items()} for k in KINDS},
            google={k: {i: GoogleUser.value(k, r) for i, r in self.google.records(k).items()} for k in KINDS},
            links={k: [(lk.crm_id, lk.google_id) for lk in links.all_links(Kind(k))] for k in KINDS},
        )


def soak(minutes: float, seed: int, work: Path) -> dict[str, Any]:
    procs = Processes(work)
    started = time.monotonic()
    try:
        procs.start()
        s = Soak(procs, seed)
        s.quiet()  # the first sync of the seeded CRM
        begun = time.monotonic()  # the soak's minutes count from here
        deadline = begun + minutes * 60
        emptied_at = begun + minutes * 60 * s.rng.uniform(0.3, 0.6)
        while time.monotonic() < deadline:
            if not s.stats["firestore_emptied"] and time.monotonic() > emptied_at:
                s.empty_firestore()
            s.round(faults=True)
        s.kill_holding_the_lease()  # the last fault: the quiet runs start while its lease is live
        quiet_runs = s.quiet()
        final = s.final()
        violations, counts = check(final, s.groups, s.log, list(s.conflicts.values()))
        (work / "edits.json").write_text(json.dumps([e.__dict__ for e in s.log.edits], indent=1))
        (work / "final.json").write_text(json.dumps(final.__dict__, indent=1, default=str))
        (work / "conflicts.json").write_text(json.dumps(list(s.conflicts.values()), indent=1, default=str))
        pairs = [[list(a), list(b)] for a, b in s.groups.parent.items()]
        (work / "groups.json").write_text(json.dumps({"parent": pairs, "linked": sorted(map(list, s.groups.linked))}))
        if quiet_runs < 0:
            violations.append("no two quiet runs in a row after the faults stopped")
        ops = [e.op for e in s.log.edits]
        return {
            "benchmark": "soak",
            "minutes": minutes,
            "seed": seed,
            "wall_s": round(time.monotonic() - started, 1),
            "edits": {op: ops.count(op) for op in ("create", "edit", "delete")},
            "fields_edited": FIELD,
            **s.stats,
            "outcomes": s.outcomes,
            "quiet_runs_to_converge": quiet_runs,
            **counts,
            "violations": violations,
        }
    finally:
        procs.stop()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__)
    ap.add_argument("--minutes", type=float, default=2.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", type=Path, default=None, help="JSON results (default bench/results/soak.json)")
    ap.add_argument("--keep", type=Path, default=None, help="keep logs, the CRM database and the edit log here")
    args = ap.parse_args(argv)
    if args.keep is not None:
        if args.keep.exists() and any(args.keep.iterdir()):
            # A kept CRM database would be seeded again on top of the old one: every record twice.
            ap.error(f"--keep {args.keep} is not empty; give a new directory")
        args.keep.mkdir(parents=True, exist_ok=True)
        result = soak(args.minutes, args.seed, args.keep)
    else:
        with tempfile.TemporaryDirectory(prefix="crmsync-soak-") as tmp:
            result = soak(args.minutes, args.seed, Path(tmp))
    out = args.out or RESULTS / "soak.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 1 if result["violations"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
