"""The two users of the soak: one in the CRM (its REST API, on behalf of the user), one in Google
(the People, Calendar and Tasks REST APIs with the account's own token). Each edit that the
side accepted is written to the edit log the invariant check judges against; a write refused
because the record changed meanwhile (412, etag) is simply not made, as a person would retry."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import requests

from crmsync.crm.port import CrmError
from crmsync.crm.rest import RestCrmConnector

KINDS = ("contacts", "events", "tasks")
CRM_KIND = {"contacts": "contacts", "events": "activities", "tasks": "tasks"}
FIELD = {"contacts": "given", "events": "subject", "tasks": "title"}  # the field the users edit and the check compares
WORDS = ("Anna", "Ben", "Cleo", "Dara", "Emil", "Fatma", "Goran", "Hiro", "Ines", "Jon")
ZONE = "Europe/Berlin"


@dataclass
class Edit:
    seq: int
    side: str  # crm | google
    kind: str
    id: str
    op: str  # create | edit | delete
    value: str | None = None


@dataclass
class EditLog:
    edits: list[Edit] = field(default_factory=list)

    def add(self, side: str, kind: str, rid: str, op: str, value: str | None = None) -> None:
        self.edits.append(Edit(len(self.edits) + 1, side, kind, rid, op, value))


class CrmUser:
    """The CRM user: records read and written through the CRM's REST API."""

    def __init__(self, base: str, key: str, user_id: str, log: EditLog, rng: random.Random) -> None:
        self.api, self.user, self.log, self.rng = RestCrmConnector(base, key), user_id, log, rng

    def records(self, kind: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        cursor = None
        while True:
            page = self.api.changes(CRM_KIND[kind], cursor, owner_id=self.user, on_behalf_of=self.user)  # type: ignore[arg-type]
            for c in page.items:
                if c.record is None:
                    out.pop(c.id, None)
                else:
                    out[c.id] = c.record
            cursor = page.next_cursor
            if not page.has_more:
                return out

    @staticmethod
    def value(kind: str, rec: Any) -> str | None:
        return getattr(rec, {"contacts": "given_name", "events": "subject", "tasks": "title"}[kind], None)

    def create(self, kind: str, value: str, seq: int) -> None:
        day = date.today() + timedelta(days=self.rng.randint(1, 40))
        body: dict[str, Any] = {"owner_id": self.user}
        if kind == "contacts":
            body |= {"given_name": value, "family_name": "Soak", "emails": [{"value": f"c{seq}@crm.soak.example"}]}
        elif kind == "events":
            body |= {"subject": value, "start": f"{day}T10:00:00", "end": f"{day}T11:00:00", "time_zone": ZONE}
        else:
            body |= {"title": value, "due": str(day)}
        rec = self.api.create(CRM_KIND[kind], body, f"soak-{seq}-{value}", on_behalf_of=self.user)  # type: ignore[arg-type]
        self.log.add("crm", kind, rec.id, "create", value)

    def edit(self, kind: str, rid: str, value: str) -> None:
        name = {"contacts": "given_name", "events": "subject", "tasks": "title"}[kind]
        try:
            rec = self.api.get(CRM_KIND[kind], rid, on_behalf_of=self.user)  # type: ignore[arg-type]
            self.api.update(CRM_KIND[kind], rid, {name: value}, rec.version, on_behalf_of=self.user)  # type: ignore[arg-type]
        except CrmError:
            return  # changed or deleted meanwhile (412/404): not made
        self.log.add("crm", kind, rid, "edit", value)

    def delete(self, kind: str, rid: str) -> None:
        try:
            rec = self.api.get(CRM_KIND[kind], rid, on_behalf_of=self.user)  # type: ignore[arg-type]
            self.api.delete(CRM_KIND[kind], rid, rec.version, on_behalf_of=self.user)  # type: ignore[arg-type]
        except CrmError:
            return
        self.log.add("crm", kind, rid, "delete")


class GoogleUser:
    """The Google account's owner, through the public REST APIs (the emulator's)."""

    def __init__(self, base: str, account: str, log: EditLog, rng: random.Random) -> None:
        self.base, self.log, self.rng = base, log, rng
        scopes = [
            "https://www.googleapis.com/auth/contacts",
            "https://www.googleapis.com/auth/calendar",
            "https://www.googleapis.com/auth/tasks",
        ]
        resp = requests.post(base + "/__emulator/tokens", json={"email": account, "scopes": scopes}, timeout=30)
        resp.raise_for_status()
        self.headers = {"Authorization": f"Bearer {resp.json()['access_token']}"}

    def call(self, method: str, path: str, body: Any = None, **params: Any) -> requests.Response:
        return requests.request(method, self.base + path, json=body, params=params, headers=self.headers, timeout=60)

    def task_list(self) -> str | None:
        """The list crmsync writes CRM tasks to (made by its first sync)."""
        items = self.call("GET", "/tasks/v1/users/@me/lists").json().get("items", [])
        return next((str(t["id"]) for t in items if t.get("title") == "CRM"), None)

    def records(self, kind: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        token = None
        while True:
            if kind == "contacts":
                page = self.call(
                    "GET", "/v1/people/me/connections", personFields="names,metadata", pageSize=1000, pageToken=token
                ).json()
                out |= {p["resourceName"]: p for p in page.get("connections", [])}
            elif kind == "events":
                page = self.call(
                    "GET", "/calendar/v3/calendars/primary/events", maxResults=2500, pageToken=token
                ).json()
                # A series' moved or retitled occurrences are listed as events of their own, but belong to
                # their series (they follow its title when the CRM renames it): not records of their own.
                out |= {
                    e["id"]: e
                    for e in page.get("items", [])
                    if e.get("status") != "cancelled" and not e.get("recurringEventId")
                }
            else:
                lid = self.task_list()
                if lid is None:
                    return {}
                page = self.call("GET", f"/tasks/v1/lists/{lid}/tasks", maxResults=100, pageToken=token).json()
                out |= {str(t["id"]): {**t, "_list": lid} for t in page.get("items", []) if not t.get("deleted")}
            token = page.get("nextPageToken")
            if not token:
                return out

    @staticmethod
    def value(kind: str, rec: dict[str, Any]) -> str | None:
        if kind == "contacts":
            names = rec.get("names") or [{}]
            given = names[0].get("givenName")
            return None if given is None else str(given)
        value = rec.get("summary") if kind == "events" else rec.get("title")
        return None if value is None else str(value)

    def create(self, kind: str, value: str, seq: int) -> None:
        day = date.today() + timedelta(days=self.rng.randint(1, 40))
        if kind == "contacts":
            person = {"names": [{"givenName": value, "familyName": "Soak"}],
                      "emailAddresses": [{"value": f"g{seq}@google.soak.example"}]}  # fmt: skip
            resp = self.call("POST", "/v1/people:createContact", person)
            rid = resp.json().get("resourceName") if resp.ok else None
        elif kind == "events":
            event = {"summary": value, "start": {"dateTime": f"{day}T15:00:00", "timeZone": ZONE},
                     "end": {"dateTime": f"{day}T16:00:00", "timeZone": ZONE}}  # fmt: skip
            resp = self.call("POST", "/calendar/v3/calendars/primary/events", event)
            rid = resp.json().get("id") if resp.ok else None
        else:
            lid = self.task_list()
            if lid is None:
                return
            resp = self.call("POST", f"/tasks/v1/lists/{lid}/tasks", {"title": value, "due": f"{day}T00:00:00.000Z"})
            rid = resp.json().get("id") if resp.ok else None
        if rid:
            self.log.add("google", kind, str(rid), "create", value)

    def edit(self, kind: str, rid: str, rec: dict[str, Any], value: str) -> None:
        if kind == "contacts":
            names = [{**(rec.get("names") or [{}])[0], "givenName": value}]
            resp = self.call("PATCH", f"/v1/{rid}:updateContact", {"etag": rec.get("etag"), "names": names},
                             updatePersonFields="names")  # fmt: skip
        elif kind == "events":
            resp = self.call("PATCH", f"/calendar/v3/calendars/primary/events/{rid}", {"summary": value})
        else:
            resp = self.call("PATCH", f"/tasks/v1/lists/{rec['_list']}/tasks/{rid}", {"title": value})
        if resp.ok:
            self.log.add("google", kind, rid, "edit", value)

    def delete(self, kind: str, rid: str, rec: dict[str, Any]) -> None:
        if kind == "contacts":
            resp = self.call("DELETE", f"/v1/{rid}:deleteContact")
        elif kind == "events":
            resp = self.call("DELETE", f"/calendar/v3/calendars/primary/events/{rid}")
        else:
            resp = self.call("DELETE", f"/tasks/v1/lists/{rec['_list']}/tasks/{rid}")
        if resp.ok:
            self.log.add("google", kind, rid, "delete")
