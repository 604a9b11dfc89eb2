"""A converged two-way sync of every tricky record and a few hundred random records per kind,
through the whole run service (real wiring, real Google client libraries on the Google emulator,
the CRM fake with the reference CRM's semantics). The CRM user and the Google account have
different addresses, as they usually do (an organizer written by one side differs on the other)."""

from __future__ import annotations

import json
import random
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import requests

from crmsync.crm.fake import FakeCrm
from crmsync.crm.port import CrmValidation
from crmsync.google.client import Endpoint
from crmsync.model.kinds import Kind
from crmsync.model.settings import KindSettings, SyncSettings
from crmsync.model.state import Connection
from crmsync.services.run_sync import GRANT_SCOPES, GoogleAccess, RunDeps, RunSummary, sync_connection
from crmsync.store.memory import MemoryStore
from tests.integration.events.support import activity_body
from tests.unit.sync.test_engine_contacts import crm_body

CRM_EMAIL = "anna@corp.example"
GOOGLE_EMAIL = "anna.home@gmail.example"
TRICKY = json.loads((Path(__file__).parents[3] / "infra/crm/data/tricky_records.json").read_text())
ZONE = "Europe/Berlin"
GIVEN = ("Anna", "Ben", "Cleo", "Dara", "Emil", "Fatma", "Goran", "Hiro")
FAMILY = ("Schmidt", "Meyer", "Öz", "Nowak", "Rossi", "Tanaka")
TITLES = ("Call back", "Send offer", "Prepare demo", "Book hotel", "Review contract", "Order parts")
SUBJECTS = ("Kickoff", "Review", "Lunch", "Planning", "1:1", "Demo")


class Stack:
    """The run service over the emulator and the CRM fake, for one connection."""

    def __init__(self, emulator: Any, settings: SyncSettings | None = None) -> None:
        self.base = emulator.base_url
        grant = requests.post(
            self.base + "/__emulator/grants",
            json={"email": GOOGLE_EMAIL, "client_id": "cid", "scopes": list(GRANT_SCOPES.values())},
            timeout=10,
        ).json()
        self.token = grant["refresh_token"]
        self.crm = FakeCrm()
        self.user = self.crm.add_user(CRM_EMAIL, "Anna").id
        self.store = MemoryStore()
        self.conn = Connection(
            id="conn-relink",
            crm_user_id=self.user,
            google_subject="1",
            google_email=GOOGLE_EMAIL,
            scopes=list(GRANT_SCOPES.values()),
            settings=settings or SyncSettings(contacts=KindSettings(google_group=None)),
            created_at=datetime.now(UTC),
        )
        self.deps = RunDeps(
            self.store, self.crm, GoogleAccess(Endpoint(self.base), "cid", "s"), lambda: datetime.now(UTC)
        )
        self._access: str | None = None
        self._keys = 0

    # ------------------------------------------------------------ running

    def run(self) -> RunSummary:
        return sync_connection(self.conn, self.token, self.deps)

    def converge(self, max_runs: int = 8) -> list[RunSummary]:
        """Sync until a run is complete and writes nothing."""
        runs = []
        for _ in range(max_runs):
            runs.append(self.run())
            last = runs[-1]
            if last.complete and not any(k.get("writes") for k in last.kinds.values()):
                return runs
        raise AssertionError(f"no quiet run after {max_runs}: {[r.as_dict()['kinds'] for r in runs[-2:]]}")

    def wipe_state(self) -> None:
        """What Disconnect then reconnect (or a lost Firestore) leaves: no links, no cursors."""
        self.store.delete_connection_data(self.conn.id)

    def links(self, kind: Kind) -> int:
        return len(list(self.store.connection_store(self.conn.id).all_links(kind)))

    # ------------------------------------------------------------ the CRM user

    def crm_create(self, kind: str, body: dict[str, Any]) -> str:
        self._keys += 1
        return self.crm.create(kind, {"owner_id": self.user, **body}, f"seed-{self._keys}", on_behalf_of=self.user).id

    def crm_records(self, kind: str) -> dict[str, Any]:
        page = self.crm.changes(kind, None, on_behalf_of=self.user)
        return {c.id: c.record for c in page.items if c.record is not None}

    # ------------------------------------------------------------ the Google user

    def access(self) -> str:
        if self._access is None:
            resp = requests.post(
                self.base + "/token",
                data={
                    "grant_type": "refresh_token",
                    "refresh_token": self.token,
                    "client_id": "cid",
                    "client_secret": "s",
                },
                timeout=10,
            )
            self._access = str(resp.json()["access_token"])
        return self._access

    def google(self, path: str, method: str = "GET", body: Any = None) -> Any:
        resp = requests.request(
            method, self.base + path, json=body, headers={"Authorization": f"Bearer {self.access()}"}, timeout=10
        )
        assert resp.status_code < 300, (path, resp.status_code, resp.text)
        return resp.json() if resp.content else None


def tricky_person(rec: dict[str, Any]) -> dict[str, Any]:
    """A tricky contact as a People API person."""
    return {
        "names": [{"givenName": rec.get("given"), "familyName": rec.get("family")}],
        "emailAddresses": [{"value": e["value"], "type": e["type"]} for e in rec.get("emails", [])],
        "phoneNumbers": [{"value": p["value"], "type": p["type"]} for p in rec.get("phones", [])],
    }


def seed(stack: Stack, rng: random.Random, per_kind: int) -> dict[str, list[str]]:
    """Every tricky record in the CRM, and ``per_kind`` random records per kind, about half made in
    the CRM and half in Google; duplicate task keys (title + due) on purpose. What it made in
    Google, by kind, as Google ids."""
    today = date.today()
    made: dict[str, list[str]] = {"contacts": [], "events": [], "tasks": []}
    acme = stack.crm_create("companies", {"name": "Acme GmbH"})
    stack.crm_create("companies", {"name": "Globex"})
    for rec in TRICKY["contacts"]:
        try:
            stack.crm_create("contacts", {k: v for k, v in crm_body(rec).items() if k != "owner_id"})
        except CrmValidation:  # the CRM refuses it (a malformed e-mail): it is made in Google instead
            made["contacts"].append(
                stack.google("/v1/people:createContact", "POST", tricky_person(rec))["resourceName"]
            )
    for rec in TRICKY["activities"]:
        stack.crm_create("activities", {k: v for k, v in activity_body(rec).items() if k != "owner_id"})
    for rec in TRICKY["tasks"]:
        body = {"title": rec["title"], "due": rec.get("due"), "notes": rec.get("notes")}
        if rec.get("status") == "completed":
            body["status"] = "completed"
        stack.crm_create("tasks", {k: v for k, v in body.items() if v is not None})
    for i in range(per_kind):
        in_crm = rng.random() < 0.5
        given, family = rng.choice(GIVEN), rng.choice(FAMILY)
        email = f"{given.lower()}.{i}@{'crm' if in_crm else 'mail'}.example"
        phone = f"+49301{i:06d}"
        if in_crm:
            body: dict[str, Any] = {
                "given_name": given,
                "family_name": family,
                "emails": [{"value": email, "type": "work"}],
            }
            if rng.random() < 0.5:
                body["phones"] = [{"value": phone, "type": "mobile"}]
            if rng.random() < 0.3:
                body["company_id"] = acme
            stack.crm_create("contacts", body)
        else:
            person: dict[str, Any] = {
                "names": [{"givenName": given, "familyName": family}],
                "emailAddresses": [{"value": email, "type": "home"}],
            }
            if rng.random() < 0.5:
                person["phoneNumbers"] = [{"value": phone, "type": "mobile"}]
            if rng.random() < 0.3:  # an organisation the CRM has no company for
                person["organizations"] = [{"name": rng.choice(["Initech", "Globex"]), "title": "CTO"}]
            made["contacts"].append(stack.google("/v1/people:createContact", "POST", person)["resourceName"])
    for i in range(per_kind):
        day = today + timedelta(days=rng.randint(-20, 120))
        hour = rng.randint(7, 19)
        subject = f"{rng.choice(SUBJECTS)} {i}"
        start, end = f"{day}T{hour:02d}:00:00", f"{day}T{hour:02d}:45:00"
        attendees = rng.sample(["x@ext.example", "y@ext.example", "z@ext.example"], rng.randint(0, 2))
        if rng.random() < 0.5:
            stack.crm_create(
                "activities",
                {"subject": subject, "start": start, "end": end, "time_zone": ZONE,
                 "attendees": [{"email": a} for a in attendees]},
            )  # fmt: skip
        else:
            event = {
                "summary": subject,
                "start": {"dateTime": start, "timeZone": ZONE},
                "end": {"dateTime": end, "timeZone": ZONE},
                "attendees": [{"email": a} for a in attendees],
            }
            made["events"].append(stack.google("/calendar/v3/calendars/primary/events", "POST", event)["id"])
    crm_list = stack.google("/tasks/v1/users/@me/lists", "POST", {"title": "CRM"})["id"]  # the list CRM tasks go to
    for i in range(per_kind):
        title = rng.choice(TITLES)  # few titles and dates: first-sync keys collide on purpose
        due = str(today + timedelta(days=rng.randint(0, 29))) if rng.random() < 0.8 else None
        if rng.random() < 0.5:
            stack.crm_create("tasks", {"title": title, **({"due": due} if due else {}), "notes": f"n{i}"})
        else:
            task = {"title": title, "notes": f"g{i}", **({"due": f"{due}T00:00:00.000Z"} if due else {})}
            made["tasks"].append(stack.google(f"/tasks/v1/lists/{crm_list}/tasks", "POST", task)["id"])
    return made


def writes_and_conflicts(summary: RunSummary) -> tuple[dict[str, dict[str, int]], dict[str, list[Any]]]:
    kinds = summary.kinds
    return (
        {k: v.get("writes", {}) for k, v in kinds.items() if v.get("writes")},
        {k: v.get("conflicts", []) for k, v in kinds.items() if v.get("conflicts")},
    )
