"""``make bench``: run every benchmark, one after another, and print one JSON object of their results.

    python -m bench.run_all [--only NAME ...] [--quick] [--save] [--list]

Each benchmark runs in its own process (``python -m bench.<name>``) and prints JSON; this collects them
under their names. ``--quick`` runs small sizes (a smoke run, minutes instead of half an hour);
``--save`` writes each result to ``bench/results/<name>.json`` (the figures the README quotes).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"


@dataclass(frozen=True)
class Bench:
    """One benchmark module, its full and quick arguments, and its results file."""

    name: str
    args: tuple[str, ...] = ()
    quick: tuple[str, ...] = ()
    results: str = ""

    @property
    def results_file(self) -> Path:
        return RESULTS / (self.results or f"{self.name}.json")


BENCHES = (
    Bench("emulator_bench"),
    Bench("crm_bench"),
    Bench(
        "contacts_bench",
        quick=("--contacts", "300", "--latency-ms", "0", "--naive-sample", "20"),
        results="contacts.json",
    ),
    Bench("events_bench", quick=("--n", "200")),
    Bench("tasks_bench", quick=("--tasks", "200")),
    Bench(
        "fanout_bench",
        args=("--contacts-bench-json", str(RESULTS / "contacts.json")),
        quick=("--sizes", "500", "--worker-runs", "3", "--backfill-size", "0"),
    ),
    Bench("latency_bench", args=("--no-write",), quick=("--edits", "5", "--no-write"), results="latency.json"),
)


def run_one(bench: Bench, quick: bool) -> dict[str, object]:
    """Run one benchmark in its own process; its JSON, or the error it ended with."""
    cmd = [sys.executable, "-m", f"bench.{bench.name}", *(bench.quick if quick else bench.args)]
    started = time.monotonic()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        return {"error": f"exit {proc.returncode}", "stderr": proc.stderr[-2000:]}
    try:
        result: dict[str, object] = json.loads(proc.stdout)
    except json.JSONDecodeError:
        return {"error": "did not print JSON", "stdout": proc.stdout[-2000:]}
    result.setdefault("bench_wall_s", round(time.monotonic() - started, 1))
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.run_all", description=__doc__.split("\n\n")[0])
    names = [b.name for b in BENCHES]
    ap.add_argument("--only", action="append", choices=names, help="run only this benchmark (repeatable)")
    ap.add_argument("--quick", action="store_true", help="small sizes: a smoke run of every benchmark")
    ap.add_argument("--save", action="store_true", help="write each result to bench/results/ (not with --quick)")
    ap.add_argument("--list", action="store_true", help="print the benchmarks and exit")
    args = ap.parse_args(argv)
    if args.save and args.quick:
        ap.error("--save keeps the README's figures: run it without --quick")
    chosen = [b for b in BENCHES if not args.only or b.name in args.only]
    if args.list:
        print("\n".join(f"{b.name}\t-> {b.results_file.relative_to(ROOT)}" for b in chosen))
        return 0
    out: dict[str, object] = {}
    failed = False
    for bench in chosen:
        print(f"bench: {bench.name}…", file=sys.stderr, flush=True)
        result = out[bench.name] = run_one(bench, args.quick)
        failed = failed or "error" in result
        if args.save and "error" not in result:
            bench.results_file.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(out, indent=2))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
