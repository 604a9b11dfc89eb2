"""Reference CRM and REST connector throughput: ``python -m bench.crm_bench`` prints JSON.

Measures the change feed (records/s reading a 10,000-record feed through the
REST connector, pages of 1,000), bulk create (records/s, calls of 500), seeding
25,000 contacts, and the benchmark process's peak RSS. The server runs in a
child process so only the client side is in this process.
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.support import child_server, peak_rss_mib
from crmsync.crm.port import BulkCreate
from crmsync.crm.rest import RestCrmConnector
from infra.crm.seed import seed

API_KEY = "bench-key"


def feed_throughput(db: Path, records: int = 10_000) -> dict[str, Any]:
    """Seed ``records`` contacts, then read the whole feed once."""
    seed(db, contacts=records, users=3, tricky=None)
    with child_server(["infra.crm", "--db", str(db), "--port", "0", "--api-key", API_KEY]) as url:
        conn = RestCrmConnector(url, API_KEY)
        started, total, cursor, pages = time.perf_counter(), 0, None, 0
        while True:
            page = conn.changes("contacts", cursor)
            total, cursor, pages = total + len(page.items), page.next_cursor, pages + 1
            if not page.has_more:
                break
        elapsed = time.perf_counter() - started
        conn.close()
    return {"records": total, "pages": pages, "seconds": round(elapsed, 3), "records_per_s": round(total / elapsed)}


def bulk_create_throughput(db: Path, calls: int = 10, per_call: int = 500) -> dict[str, Any]:
    """``calls`` bulk calls of ``per_call`` new contacts each."""
    with child_server(["infra.crm", "--db", str(db), "--port", "0", "--api-key", API_KEY]) as url:
        conn = RestCrmConnector(url, API_KEY)
        started, made = time.perf_counter(), 0
        for c in range(calls):
            ops = [
                BulkCreate(
                    {
                        "given_name": f"Bulk{i}",
                        "family_name": "Müller",
                        "emails": [{"type": "work", "value": f"b{c}.{i}@example.com"}],
                        "tags": ["crm"],
                    },
                    f"bench-{c}-{i}",
                )
                for i in range(per_call)
            ]
            made += sum(1 for r in conn.bulk("contacts", ops) if r.status == 201)
        elapsed = time.perf_counter() - started
        conn.close()
    return {"records": made, "calls": calls, "seconds": round(elapsed, 3), "records_per_s": round(made / elapsed)}


def seeding_time(db: Path, contacts: int = 25_000) -> dict[str, Any]:
    """Seed ``contacts`` contacts (plus companies and users) into a fresh database."""
    started = time.perf_counter()
    summary = seed(db, contacts=contacts, users=5, tricky=None)
    return {
        "contacts": summary["contacts"],
        "companies": summary["companies"],
        "seconds": round(time.perf_counter() - started, 2),
    }


def main() -> None:
    """Run every measurement and print one JSON object."""
    with tempfile.TemporaryDirectory() as tmp:
        out = {
            "change_feed_10k": feed_throughput(Path(tmp) / "feed.sqlite"),
            "bulk_create": bulk_create_throughput(Path(tmp) / "bulk.sqlite"),
            "seed_25k_contacts": seeding_time(Path(tmp) / "seed.sqlite"),
            "peak_rss_mib": peak_rss_mib(),
        }
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
