"""Contacts benchmark (issue 4): first syncs both ways, a quiet sync, and 100
changes per side, against the Google emulator with 50 ms latency per request,
the reference CRM over HTTP and the official Firestore emulator.

Run: ``python -m bench.contacts_bench [--contacts 10000] [--latency-ms 50] [--propagation-s 180]``.
With ``--propagation-s`` the emulator delays each People write that long at most before sync listings
show it (Google's documented propagation delay; realism.py): the runs after each sync then meet their
own writes late, and two extra runs ("..._after_propagation", the emulator clock moved on by that
much) show what the late echoes cost. Prints JSON. Servers run in child processes, so peak RSS is the sync's own."""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests

from bench.support import Timer, child_server, diff, emulator_calls, peak_rss_mib
from crmsync.crm.rest import RestCrmConnector
from crmsync.google.client import Endpoint, build_service, user_credentials
from crmsync.model.kinds import Kind
from crmsync.model.settings import ContactOptions, KindSettings, OwnerScope, SyncSettings
from crmsync.model.state import Connection
from crmsync.ports import OpCounter
from crmsync.services.run_sync import GRANT_SCOPES, GoogleAccess, RunDeps, sync_connection
from crmsync.store.firestore import FirestoreStore
from infra.firestore_emulator import new_firestore_client, start_firestore_emulator

CLIENT_ID, CLIENT_SECRET, CRM_KEY = "bench-client", "bench-secret", "bench-key"


def grant(base: str, email: str) -> str:
    body = requests.post(
        base + "/__emulator/grants",
        timeout=30,
        json={"email": email, "client_id": CLIENT_ID, "scopes": list(GRANT_SCOPES.values())},
    ).json()
    return str(body["refresh_token"])


def connection(cid: str, crm_user: str, email: str, kind_settings: KindSettings) -> Connection:
    return Connection(
        id=cid,
        crm_user_id=crm_user,
        google_subject=cid,
        google_email=email,
        scopes=[GRANT_SCOPES[Kind.CONTACTS]],  # contacts only: every kind is wired
        created_at=datetime.now(UTC),
        settings=SyncSettings(contacts=kind_settings, contact_options=ContactOptions(default_region="DE")),
    )


class Scenario:
    """One connection, measured run by run."""

    def __init__(
        self, google: str, crm_url: str, store: FirestoreStore, fs_counter: OpCounter, conn: Connection, email: str
    ) -> None:
        self.google, self.email, self.conn = google, email, conn
        self.store, self.fs = store, fs_counter
        self.crm = RestCrmConnector(crm_url, CRM_KEY)
        self.token = grant(google, email)
        self.deps = RunDeps(
            store, self.crm, GoogleAccess(Endpoint(google), CLIENT_ID, CLIENT_SECRET), lambda: datetime.now(UTC)
        )

    def run(self, label: str) -> dict[str, Any]:
        g0, f0 = emulator_calls(self.google, self.email), dict(self.fs.counts)
        with Timer() as t:
            summary = sync_connection(self.conn, self.token, self.deps)
        g = diff(emulator_calls(self.google, self.email), g0)
        kind = summary.kinds["contacts"]
        return {
            "scenario": label,
            "wall_s": t.seconds,
            "google_requests": sum(g.values()),
            "google_requests_by_method": g,
            "crm_requests": sum(v for k, v in summary.api_calls.items() if k.startswith("crm.")),
            "crm_requests_by_call": {k: v for k, v in summary.api_calls.items() if k.startswith("crm.")},
            "firestore": diff(self.fs.counts, f0),
            "writes": kind.get("writes"),
            "listed": kind.get("listed"),
            "complete": summary.complete,
        }


def naive_baseline(google: str, n: int, sample: int) -> dict[str, Any]:
    """One People createContact per record, sequentially: measured on ``sample``, scaled to ``n``."""
    email = "naive@example.com"
    creds = user_credentials(
        refresh_token=grant(google, email),
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        scopes=GRANT_SCOPES.values(),
        endpoint=Endpoint(google),
    )
    people = build_service("people", creds, Endpoint(google))
    with Timer() as t:
        for i in range(sample):
            people.people().createContact(
                body={
                    "names": [{"givenName": f"N{i}", "familyName": "Naive"}],
                    "emailAddresses": [{"value": f"n{i}@example.com"}],
                },
                personFields="names",
            ).execute()
    return {
        "requests": n,
        "wall_s_estimated": round(t.seconds * n / sample, 1),
        "measured_on": sample,
        "measured_wall_s": t.seconds,
    }


def edit_google(google: str, email: str, count: int) -> None:
    """A user edits ``count`` Google contacts (through the People API)."""
    creds = user_credentials(
        refresh_token=grant(google, email),
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        scopes=GRANT_SCOPES.values(),
        endpoint=Endpoint(google),
    )
    people = build_service("people", creds, Endpoint(google))
    listing = (
        people.people().connections().list(resourceName="people/me", personFields="names", pageSize=count).execute()
    )
    for p in listing.get("connections", [])[:count]:
        people.people().updateContact(
            resourceName=p["resourceName"],
            updatePersonFields="biographies",
            body={"etag": p["etag"], "biographies": [{"value": "edited in Google", "contentType": "TEXT_PLAIN"}]},
        ).execute()


def edit_crm(crm: RestCrmConnector, user: str, count: int) -> None:
    """A user edits ``count`` CRM contacts (one bulk call)."""
    from crmsync.crm.port import BulkUpdate

    page = crm.changes("contacts", None, limit=count, on_behalf_of=user)
    ops = [BulkUpdate(c.id, c.version, {"title": "Edited in CRM"}) for c in page.items if c.record is not None][:count]
    crm.bulk("contacts", ops, on_behalf_of=user)


def seed_google(google: str, email: str, n: int) -> None:
    people = [
        {
            "names": [{"givenName": f"Gina{i}", "familyName": "Google"}],
            "emailAddresses": [{"value": f"gina{i}@example.org", "type": "work"}],
            "phoneNumbers": [{"value": f"+1 212 555 {i % 10000:04d}", "type": "mobile"}],
        }
        for i in range(n)
    ]
    requests.post(
        google + "/__emulator/seed", params={"account": email}, json={"people": {"connections": people}}, timeout=120
    ).raise_for_status()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--contacts", type=int, default=10_000)
    ap.add_argument("--latency-ms", type=int, default=50)
    ap.add_argument("--naive-sample", type=int, default=200)
    ap.add_argument("--propagation-s", type=float, default=0.0, help="People propagation delay (max seconds)")
    args = ap.parse_args(argv)
    n = args.contacts
    out: dict[str, Any] = {"benchmark": "contacts", "contacts": n, "latency_ms": args.latency_ms, "results": []}
    out["propagation_s"] = args.propagation_s
    host, stop_fs = start_firestore_emulator()
    os.environ["FIRESTORE_EMULATOR_HOST"] = host
    tmp = Path(tempfile.mkdtemp(prefix="crmsync-bench-"))
    try:
        from infra.crm.seed import seed

        with Timer() as seeding:
            seed(tmp / "a.sqlite", contacts=n, activities=0, tasks=0, users=2, tricky=None)
            seed(tmp / "b.sqlite", contacts=0, activities=0, tasks=0, users=2, tricky=None)
        out["crm_seed_s"] = seeding.seconds
        with (
            child_server(["infra.google_emulator", "--port", "0", "--latency-ms", str(args.latency_ms)]) as google,
            child_server(["infra.crm", "--db", str(tmp / "a.sqlite"), "--port", "0", "--api-key", CRM_KEY]) as crm_a,
            child_server(["infra.crm", "--db", str(tmp / "b.sqlite"), "--port", "0", "--api-key", CRM_KEY]) as crm_b,
        ):
            if args.propagation_s:
                body = {"people_propagation_seconds": args.propagation_s}
                requests.post(google + "/__emulator/realism", json=body, timeout=30).raise_for_status()

            def propagated(scenario: Scenario, label: str) -> None:
                """With a propagation delay: the clock moves past it, and one more run meets the late echoes."""
                if args.propagation_s:
                    body = {"advance_seconds": args.propagation_s + 1}
                    requests.post(google + "/__emulator/clock", json=body, timeout=30).raise_for_status()
                    out["results"].append(scenario.run(label))

            fs_counter = OpCounter()
            store = FirestoreStore(new_firestore_client(host), fs_counter)
            admin = RestCrmConnector(crm_a, CRM_KEY).user_by_email("admin@crm.example")
            assert admin is not None
            # (a) 10,000 CRM contacts to Google (the admin sees them all).
            a = Scenario(
                google,
                crm_a,
                store,
                fs_counter,
                connection("bench-a", admin.id, "a@example.com", KindSettings(owner_scope=OwnerScope.VISIBLE)),
                "a@example.com",
            )
            out["results"].append(a.run("a_first_sync_crm_to_google"))
            out["results"].append(a.run("a_echo_of_own_writes"))
            propagated(a, "a_echo_after_propagation")
            # (c) nothing changed.
            out["results"].append(a.run("c_no_change"))
            # (d) 100 changed contacts on each side.
            edit_crm(a.crm, admin.id, 100)
            edit_google(google, "a@example.com", 100)
            out["results"].append(a.run("d_100_changed_each_side"))
            propagated(a, "d_after_propagation")
            # (b) 10,000 Google contacts into an empty CRM (all contacts in scope: no group filter).
            user_b = RestCrmConnector(crm_b, CRM_KEY).user_by_email("user1@crm.example")
            assert user_b is not None
            seed_google(google, "b@example.com", n)
            b = Scenario(
                google,
                crm_b,
                store,
                fs_counter,
                connection("bench-b", user_b.id, "b@example.com", KindSettings(google_group=None)),
                "b@example.com",
            )
            out["results"].append(b.run("b_first_sync_google_to_crm"))
            out["results"].append(b.run("b_echo"))
            propagated(b, "b_echo_after_propagation")
            naive = naive_baseline(google, n, args.naive_sample)
            first = out["results"][0]
            naive["ratio_requests"] = round(naive["requests"] / max(first["google_requests"], 1), 1)
            naive["ratio_wall"] = round(naive["wall_s_estimated"] / max(first["wall_s"], 0.001), 1)
            out["naive_baseline_a"] = naive
    finally:
        stop_fs()
    out["peak_rss_mib"] = peak_rss_mib()
    by = {r["scenario"]: r for r in out["results"]}
    out["targets"] = {
        "a_google_requests_le_60": by["a_first_sync_crm_to_google"]["google_requests"] <= 60,
        "c_one_google_one_crm_request": by["c_no_change"]["google_requests"] == 1
        and by["c_no_change"]["crm_requests"] == 1,
        "c_no_link_reads": by["c_no_change"]["firestore"].get("firestore.queries", 0) == 0,
        "d_google_requests_le_5": by["d_100_changed_each_side"]["google_requests"] <= 5,
        "peak_rss_le_256_mib": out["peak_rss_mib"] <= 256,
    }
    json.dump(out, sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
