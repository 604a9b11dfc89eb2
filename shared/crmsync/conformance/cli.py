"""``python -m crmsync.conformance --url URL --api-key KEY [--user ID] [--other-user ID] [--json FILE]``."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from .runner import Outcome, Report, run_suite

MARK = {Outcome.PASS: "PASS", Outcome.FAIL: "FAIL", Outcome.SKIP: "SKIP"}


def render(report: Report, out: TextIO) -> None:
    """The report for people: one line per rule, then each failure with its request and reply."""
    out.write(f"CRM Sync API conformance: {report.server} (run tag {report.run_tag})\n\n")
    if report.fatal:
        out.write(f"ERROR: {report.fatal}\n")
        return
    for r in report.results:
        out.write(f"  {MARK[r.outcome]}  {r.id:32} {r.title}\n")
        if r.outcome is Outcome.SKIP:
            out.write(f"        skipped: {r.message}\n")
    failed = [r for r in report.results if r.outcome is Outcome.FAIL]
    for r in failed:
        out.write(f"\n--- FAIL {r.id}: {r.title}\n    rule: {r.docs}\n    {r.message}\n")
        for ex in r.exchanges:
            req, rep = ex["request"], ex["reply"]
            out.write(f"    > {req['method']} {req['url']}\n")
            for k, v in req["headers"].items():
                out.write(f"    > {k}: {v}\n")
            if req["body"] is not None:
                out.write(f"    > {req['body']}\n")
            out.write(f"    < HTTP {rep['status']}\n")
            for k, v in rep["headers"].items():
                out.write(f"    < {k}: {v}\n")
            if rep["body"]:
                out.write(f"    < {rep['body']}\n")
    counts = report.counts()
    out.write(f"\n{counts['pass']} passed, {counts['fail']} failed, {counts['skip']} skipped\n")
    if report.cleanup:
        out.write("cleanup left records behind: " + "; ".join(report.cleanup) + "\n")


def main(argv: Sequence[str] | None = None, out: TextIO = sys.stdout) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m crmsync.conformance",
        description="Check a CRM Sync API server against the contract (docs/crm-sync-api.md). "
        "Creates records tagged with a run tag and deletes them at the end.",
    )
    parser.add_argument("--url", required=True, help="the server's base URL, e.g. https://crm.example/api/sync/v1")
    parser.add_argument("--api-key", default=os.environ.get("CRM_API_KEY"), help="the API key (default: $CRM_API_KEY)")
    parser.add_argument("--user", help="a non-admin CRM user id: checks acting users (X-CRM-User) and visibility")
    parser.add_argument("--other-user", help="another non-admin user id: checks visibility between users")
    parser.add_argument("--only", action="append", default=[], help="run only rules whose id starts with this")
    parser.add_argument("--json", type=Path, help="also write the report as JSON to this file")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per request (default 30)")
    args = parser.parse_args(argv)
    if not args.api_key:
        parser.error("give --api-key or set CRM_API_KEY")
    report = run_suite(
        args.url, args.api_key, user=args.user, other_user=args.other_user, only=args.only, timeout=args.timeout
    )
    render(report, out)
    if args.json:
        args.json.write_text(json.dumps(report.as_dict(), indent=2, ensure_ascii=False), encoding="utf-8")
    return report.exit_code
