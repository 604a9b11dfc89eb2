"""Seed the reference CRM with realistic data of any size, plus every hand-made tricky record.

``python -m infra.crm.seed --db crm.sqlite --contacts 25000 --activities 2000 --tasks 1000 --users 5``

Tricky records carry the tags ``tricky`` and ``tricky-<key>`` (e.g. ``tricky-c15``)
so tests can find them. Tricky contact c15 has an invalid e-mail on purpose: the
seeder stores it without validation (the API would refuse it), so the sync meets
bad data the way it would in a real CRM.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from .store import CrmStore
from .tricky import contact_defaults, tricky_activities, tricky_contact

TRICKY_PATH = Path(__file__).parent / "data" / "tricky_records.json"
BATCH = 2000
GIVEN = [
    "Anna",
    "Jonas",
    "Zoë",
    "Mateo",
    "Léa",
    "Øyvind",
    "Siobhán",
    "José",
    "Mia",
    "Noah",
    "Yuki",
    "Chloé",
    "Ibrahim",
    "Ærin",
    "Łucja",
    "Sven",
    "Priya",
    "Олег",
    "Αλέξανδρος",
    "太郎",
    "محمد",
    "Nguyễn",
]
FAMILY = [
    "Schmidt",
    "Müller",
    "García",
    "Núñez",
    "O'Brien",
    "Ångström",
    "Kowalski",
    "Dubois",
    "Rossi",
    "Smith",
    "Jones",
    "Łukasiewicz",
    "Иванов",
    "Παπαδόπουλος",
    "山田",
    "العلي",
    "Trần",
    "van der Berg",
]
COMPANY_WORDS = [
    "Nordwind",
    "Bergblick",
    "Acme",
    "Globex",
    "Initech",
    "Umbrella",
    "Soylent",
    "Stark",
    "Wayne",
    "Hooli",
    "Vandelay",
    "Kräuter",
]
SUFFIXES = ["GmbH", "AG", "Ltd", "Inc", "SARL", "S.L.", "KK"]
TITLES = ["CEO", "CFO", "Head of Sales", "Account Manager", "Engineer", "Buyer", "Office Manager", None]
ZONES = [
    "Europe/Berlin",
    "Europe/London",
    "America/New_York",
    "America/Los_Angeles",
    "Asia/Tokyo",
    "Pacific/Auckland",
    "UTC",
    "Asia/Kolkata",
]
SUBJECTS = [
    "Intro call",
    "Demo",
    "Quarterly review",
    "Lunch",
    "Site visit",
    "Contract talk",
    "Onboarding",
    "Weekly sync",
]


def _slug(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isascii() and ch.isalnum()) or "x"


class Seeder:
    """Makes records with a seeded random generator, so the same arguments give the same data."""

    def __init__(self, store: CrmStore, rng_seed: int = 7) -> None:
        self.store = store
        self.rng = random.Random(rng_seed)
        self.custom_rng = random.Random(rng_seed + 1)  # custom field values (see ``_custom``)
        self.users: list[str] = []
        self.user_emails: list[str] = []
        self.companies: list[str] = []
        self.emails: list[str] = []

    def seed_users(self, n: int) -> None:
        """An admin and n-1 users (existing e-mails are reused)."""
        for i in range(max(n, 1)):
            email = "admin@crm.example" if i == 0 else f"user{i}@crm.example"
            user = self.store.user_by_email(email) or self.store.add_user(
                email,
                "Admin" if i == 0 else f"{GIVEN[i % len(GIVEN)]} {FAMILY[i % len(FAMILY)]}",
                "admin" if i == 0 else "user",
            )
            self.users.append(user.id)
            self.user_emails.append(user.email)

    def _owner(self) -> str:
        return self.rng.choice(self.users[1:] or self.users)

    def seed_companies(self, n: int) -> None:
        """n companies with distinct names and domains."""
        rows = []
        for i in range(n):
            word = COMPANY_WORDS[i % len(COMPANY_WORDS)]
            name = f"{word} {i // len(COMPANY_WORDS) + 1} {self.rng.choice(SUFFIXES)}"
            rows.append(
                {"name": name, "domain": f"{_slug(word)}{i}.example", "owner_id": self._owner(), "tags": ["crm"]}
            )
        self.companies += [r["id"] for r in self._create("companies", rows)]

    def contact(self, i: int) -> dict[str, Any]:
        """One realistic contact; about 2% share an e-mail with an earlier one."""
        rng = self.rng
        given, family = rng.choice(GIVEN), rng.choice(FAMILY)
        if self.emails and rng.random() < 0.02:
            emails = [{"type": "work", "value": rng.choice(self.emails)}]
        else:
            emails = [
                {"type": t, "value": f"{_slug(given)}.{_slug(family)}{i}.{t}@example.com"}
                for t in rng.sample(["work", "home", "other"], rng.randint(1, 3))
            ]
            self.emails.append(emails[0]["value"])
        phones = [
            {"type": t, "value": f"+49 30 {rng.randint(1000000, 9999999)}"}
            for t in rng.sample(["work", "mobile", "home"], rng.randint(0, 3))
        ]
        addresses = [
            {
                "type": t,
                "street": f"{rng.randint(1, 200)} Hauptstraße",
                "city": rng.choice(["Berlin", "München", "Zürich", "Paris"]),
                "postal_code": f"{rng.randint(10000, 99999)}",
                "country": rng.choice(["DE", "CH", "FR"]),
            }
            for t in rng.sample(["work", "home"], rng.randint(0, 2))
        ]
        tags = [t for t, p in (("crm", 0.7), ("shared", 0.1), ("vip", 0.05)) if rng.random() < p]
        rec: dict[str, Any] = {
            "given_name": given,
            "family_name": family,
            "emails": emails,
            "phones": phones,
            "addresses": addresses,
            "owner_id": self._owner(),
            "tags": tags,
        }
        if self.companies and rng.random() < 0.8:
            rec.update(
                company_id=rng.choice(self.companies),
                title=rng.choice(TITLES),
                department=rng.choice(["Sales", "Finance", None]),
            )
        if rng.random() < 0.3:
            rec["birthday"] = {
                "year": rng.choice([None, rng.randint(1950, 2000)]),
                "month": rng.randint(1, 12),
                "day": rng.randint(1, 28),
            }
        rec["custom_fields"] = self._custom(
            {
                "customer_tier": lambda r: r.choice(["Bronze", "Silver", "Gold"]),
                "account_number": lambda r: f"A-{r.randint(1000, 99999)}",
                "renewal_date": lambda r: f"2027-{r.randint(1, 12):02d}-{r.randint(1, 28):02d}",
                "lead_score": lambda r: r.randint(0, 100),
                "interests": lambda r: r.sample(["AI", "Cloud", "Data"], r.randint(1, 2)),
            }
        )
        return rec

    def _custom(self, makers: dict[str, Any]) -> dict[str, Any]:
        """Some custom field values (about a third of each), from their own random stream: the
        records' other values are what they were before custom fields existed."""
        return {name: make(self.custom_rng) for name, make in makers.items() if self.custom_rng.random() < 0.35}

    def activity(self) -> dict[str, Any]:
        """One activity: timed or all-day, sometimes a series with an exception, with attendees."""
        rng = self.rng
        start = datetime(2026, 11, 1, rng.randint(7, 18), rng.choice([0, 30])) + timedelta(days=rng.randint(-60, 300))
        owner = self._owner()
        rec: dict[str, Any] = {
            "subject": rng.choice(SUBJECTS),
            "owner_id": owner,
            "tags": ["crm"] if rng.random() < 0.8 else [],
        }
        if rng.random() < 0.15:
            end = start + timedelta(days=rng.randint(0, 3))
            rec.update(all_day=True, start_date=start.date().isoformat(), end_date=end.date().isoformat())
        else:
            end = start + timedelta(minutes=rng.choice([15, 30, 60, 90]))
            rec.update(
                start=start.isoformat(timespec="seconds"),
                end=end.isoformat(timespec="seconds"),
                time_zone=rng.choice(ZONES),
            )
        if rng.random() < 0.3:
            rec["recurrence"] = {"rrule": f"FREQ=WEEKLY;COUNT={rng.randint(3, 12)}"}
            if rng.random() < 0.5:
                second = (
                    (start + timedelta(days=7)).date().isoformat()
                    if rec.get("all_day")
                    else (start + timedelta(days=7)).isoformat(timespec="seconds")
                )
                rec["exceptions"] = [{"original_start": second, "cancelled": True}]
        pool = self.emails[-500:] + self.user_emails
        rec["attendees"] = [
            {"email": e, "response": rng.choice(["needs_action", "accepted", "declined", "tentative"])}
            for e in rng.sample(pool, min(len(pool), rng.randint(0, 4)))
        ]
        rec["organizer_email"] = self.user_emails[self.users.index(owner)]
        rec["private"] = rng.random() < 0.1
        rec["custom_fields"] = self._custom({"deal_stage": lambda r: r.choice(["Lead", "Proposal", "Won", "Lost"])})
        return rec

    def task(self) -> dict[str, Any]:
        """One task, with or without a due date, sometimes completed."""
        rng = self.rng
        rec: dict[str, Any] = {
            "title": rng.choice(["Call back", "Send offer", "Prepare demo", "Follow up", "Renew contract"]),
            "owner_id": self._owner(),
            "tags": ["crm"],
        }
        day = datetime(2026, 11, 1) + timedelta(days=rng.randint(-30, 120))
        roll = rng.random()
        if roll < 0.3:
            rec["due"] = day.date().isoformat()
        elif roll < 0.6:
            rec["due"] = day.replace(hour=16, minute=30).isoformat(timespec="seconds") + "+01:00"
        if rng.random() < 0.3:
            rec["status"] = "completed"
        rec["custom_fields"] = self._custom(
            {
                "priority": lambda r: r.choice(["Low", "Normal", "High"]),
                "effort_hours": lambda r: r.choice([0.5, 1, 2, 4]),
            }
        )
        return rec

    def _create(self, kind: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        out = []
        for i in range(0, len(rows), BATCH):
            out += self.store.create_many(kind, rows[i : i + BATCH])
        return out

    def seed_bulk(self, kind: str, n: int) -> int:
        """n generated records of one kind."""
        makers: dict[str, Callable[[int], dict[str, Any]]] = {
            "contacts": self.contact,
            "activities": lambda _i: self.activity(),
            "tasks": lambda _i: self.task(),
        }
        make, done = makers[kind], 0
        while done < n:
            rows = [make(done + j) for j in range(min(BATCH, n - done))]
            self._create(kind, rows)
            done += len(rows)
        return done

    def seed_tricky(self, path: Path) -> dict[str, str]:
        """Every tricky record; returns tricky key → CRM id."""
        data = json.loads(path.read_text(encoding="utf-8"))
        owner = self.users[1] if len(self.users) > 1 else self.users[0]
        ids: dict[str, str] = {}
        for raw in data["contacts"]:
            rec = tricky_contact(raw, owner)
            if raw.get("company"):
                found = self.store.find_companies(raw["company"], None, None)
                rec["company_id"] = (
                    found[0]["id"]
                    if found
                    else self._create(
                        "companies", [{"name": raw["company"], "owner_id": owner, "tags": ["crm", "tricky"]}]
                    )[0]["id"]
                )
            if raw["key"] == "c15":
                ids["c15"] = self.store.insert_raw("contacts", contact_defaults(rec))["id"]  # invalid e-mail on purpose
            else:
                ids[raw["key"]] = self._create("contacts", [rec])[0]["id"]
        for raw in data["activities"]:
            for n, rec in enumerate(tricky_activities(raw, owner, self.user_emails[0])):
                ids[raw["key"] + ("" if n == 0 else f"+{n}")] = self._create("activities", [rec])[0]["id"]
        for raw in data["tasks"]:
            rec = {k: raw[k] for k in ("title", "due", "status", "notes") if k in raw}
            ids[raw["key"]] = self._create(
                "tasks", [{**rec, "owner_id": owner, "tags": ["crm", "tricky", f"tricky-{raw['key']}"]}]
            )[0]["id"]
        return ids


def seed(
    db: str | Path,
    *,
    contacts: int = 0,
    activities: int = 0,
    tasks: int = 0,
    users: int = 3,
    tricky: Path | None = TRICKY_PATH,
    rng_seed: int = 7,
) -> dict[str, Any]:
    """Seed ``db``; returns counts and the ids of the tricky records."""
    store = CrmStore(db)
    try:
        s = Seeder(store, rng_seed)
        s.seed_users(users)
        s.seed_companies(max(5, contacts // 10) if contacts else 0)
        summary: dict[str, Any] = {"users": len(s.users), "companies": len(s.companies)}
        summary["tricky"] = s.seed_tricky(tricky) if tricky else {}
        for kind, n in (("contacts", contacts), ("activities", activities), ("tasks", tasks)):
            summary[kind] = s.seed_bulk(kind, n)
        return summary
    finally:
        store.close()


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(
        prog="python -m infra.crm.seed", description="Fill a reference CRM database with realistic data."
    )
    parser.add_argument("--db", required=True, help="SQLite file (created if missing)")
    parser.add_argument("--contacts", type=int, default=200)
    parser.add_argument("--activities", type=int, default=100)
    parser.add_argument("--tasks", type=int, default=50)
    parser.add_argument("--users", type=int, default=3, help="users to create: the first is an admin")
    parser.add_argument(
        "--tricky", type=Path, default=TRICKY_PATH, help="tricky records JSON to include (default: the bundled one)"
    )
    parser.add_argument("--no-tricky", action="store_true", help="leave the tricky records out")
    parser.add_argument("--seed", type=int, default=7, help="random seed (same seed, same data)")
    args = parser.parse_args(argv)
    for name in ("contacts", "activities", "tasks", "users"):
        if getattr(args, name) < 0:
            parser.error(f"--{name} cannot be negative")
    if not args.no_tricky and not args.tricky.is_file():
        parser.error(f"--tricky {args.tricky}: no such file (use --no-tricky to seed without it)")
    started = time.perf_counter()
    summary = seed(
        args.db,
        contacts=args.contacts,
        activities=args.activities,
        tasks=args.tasks,
        users=args.users,
        tricky=None if args.no_tricky else args.tricky,
        rng_seed=args.seed,
    )
    summary["seconds"] = round(time.perf_counter() - started, 2)
    print(json.dumps(summary, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
