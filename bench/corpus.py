"""The real-world corpus run (issue 12): real calendars and vCards imported into the Google
emulator, synced into the reference CRM, edited there, synced back; then checked that nothing
crashed, nothing unedited changed on either side, and every record that did not sync is explained.

    python -m bench.corpus [--sample N]     # figures to bench/results/corpus.json

``tests/integration/records/test_corpus.py`` runs a sample of it in ``make test``.
"""

from __future__ import annotations

import argparse
import json
import re
import tempfile
import time
import warnings
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from googleapiclient.errors import HttpError

from bench.corpus_sources import Item, calendar_items, fetch_vcard_sources, vcard_items
from bench.corpus_stack import ACCOUNT, CRM_GROUP, Stack, stack
from bench.support import ROOT, peak_rss_mib
from crmsync.google.calendar_mapping import event_canon
from crmsync.model.kinds import Kind
from crmsync.model.recurrence import never_happens, overlaps

RESULT = ROOT / "bench" / "results" / "corpus.json"
# What Google computes or stamps itself: never compared.
VOLATILE = {"etag", "updated", "created", "sequence", "htmlLink", "iCalUID", "metadata", "creator", "organizer"}
CRASH = "could not sync this record"  # the note of an unexpected error caught per record


@dataclass
class Figures:
    """What one corpus run found."""

    records: dict[str, int] = field(default_factory=dict)  # read from the files, per kind
    imported: dict[str, int] = field(default_factory=dict)  # accepted by Google, per kind
    not_importable: Counter[str] = field(default_factory=Counter)  # refused by the parser or by Google: why
    synced: dict[str, int] = field(default_factory=dict)  # linked to a CRM record after the first run
    outside_window: int = 0  # events wholly outside the sync window (not records crmsync syncs)
    held: int = 0  # values adapted or kept out of the CRM, each named in the notes
    skipped: Counter[str] = field(default_factory=Counter)  # records not synced, by the reason named
    unexplained: list[str] = field(default_factory=list)  # imported, not synced, with no note or error
    crashes: int = 0  # runs that raised, plus records skipped for an unexpected error
    crash_notes: list[str] = field(default_factory=list)
    edited: dict[str, int] = field(default_factory=dict)
    unedited_fields_changed: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "records": self.records,
            "imported": self.imported,
            "not_importable": dict(self.not_importable),
            "synced": self.synced,
            "outside_window": self.outside_window,
            "held": self.held,
            "skipped_by_reason": dict(self.skipped),
            "unexplained": len(self.unexplained),
            "crashes": self.crashes,
            "edited": self.edited,
            "unedited_fields_changed": len(self.unedited_fields_changed),
            "examples": {
                "unexplained": self.unexplained[:10],
                "crashes": self.crash_notes[:10],
                "unedited_fields_changed": self.unedited_fields_changed[:10],
            },
        }


def _reason(message: str) -> str:
    """A short category for a skip message: the field it names, or the error type."""
    text = message.split("skipped:", 1)[-1].strip()
    if CRASH in text:
        m = re.search(r"\((\w+):", text)
        return f"unexpected error ({m.group(1) if m else '?'})"
    head = text.split(":", 1)[0].strip()
    return head if re.fullmatch(r"[a-z_ /0-9]+", head) else text[:60]


def _google_reason(err: HttpError) -> str:
    """Google's message, with the values it quotes taken out (so reasons group)."""
    try:
        message = str(json.loads(err.content)["error"]["message"])
    except (ValueError, KeyError, TypeError):
        message = str(err.reason)
    return re.sub(r"'[^']*'|\"[^\"]*\"", "…", message)[:80]


def _import(s: Stack, events: list[Item], people: list[Item], f: Figures) -> tuple[list[str], list[str]]:
    cal, ppl = s.service("calendar").events(), s.service("people").people()
    event_ids, person_ids = [], []
    member = {"contactGroupMembership": {"contactGroupResourceName": CRM_GROUP}}
    s.seed_google_contacts([])  # the CRM group
    for kind, items in (("events", events), ("contacts", people)):
        f.records[kind] = len(items)
        for item in items:
            if item.body is None:
                f.not_importable[f"{kind}: {item.reason}"] += 1
                continue
            try:
                if kind == "events":
                    event_ids.append(cal.insert(calendarId="primary", body=item.body).execute()["id"])
                else:
                    body = {**item.body, "memberships": [member]}
                    person_ids.append(ppl.createContact(body=body, personFields="names").execute()["resourceName"])
            except HttpError as err:
                f.not_importable[f"{kind}: Google refuses it ({err.status_code}: {_google_reason(err)})"] += 1
        f.imported[kind] = len(event_ids) if kind == "events" else len(person_ids)
    return event_ids, person_ids


def _sync(s: Stack, f: Figures) -> dict[str, Any]:
    try:
        summary = s.sync()
    except Exception as err:  # a crash of the run itself
        f.crashes += 1
        f.crash_notes.append(f"run: {type(err).__name__}: {err}")
        return {"kinds": {}}
    for kind in summary["kinds"].values():
        for note in kind["notes"] + kind["errors"]:
            if CRASH in note:
                f.crashes += 1
                f.crash_notes.append(note)
    return summary


def _account(s: Stack, summary: dict[str, Any], event_ids: list[str], person_ids: list[str], f: Figures) -> None:
    links = s.store.connection_store(s.conn.id)
    linked = {kind: {lk.google_id for lk in links.all_links(kind)} for kind in (Kind.EVENTS, Kind.CONTACTS)}
    kinds = summary["kinds"]
    for kind, ids, name in ((Kind.EVENTS, event_ids, "events"), (Kind.CONTACTS, person_ids, "contacts")):
        report = kinds.get(name) or {"notes": [], "errors": []}
        messages = report["notes"] + report["errors"]
        f.held += sum(1 for m in messages if "kept out of the CRM" in m or "is stored in the CRM as" in m)
        f.synced[name] = sum(1 for i in ids if i in linked[kind])
        for gid in ids:
            if gid in linked[kind]:
                continue
            said = [m for m in messages if gid in m]
            if said:
                f.skipped[f"{name}: {_reason(said[0])}"] += 1
            elif kind is Kind.EVENTS and not _in_window(s, gid):
                f.outside_window += 1  # not a record this sync takes: wholly outside the sync window
            else:
                f.unexplained.append(f"{name} {gid}")


def _in_window(s: Stack, gid: str) -> bool:
    """Whether a Google event overlaps the window the sync brings into the CRM (as crmsync reads it)."""
    event = s.service("calendar").events().get(calendarId="primary", eventId=gid).execute()
    try:
        canon = event_canon(event, [], "UTC", ACCOUNT)
    except Exception:
        return True  # unreadable: it should have been named in a note
    lo, hi = s.conn.settings.event_options.google_window.bounds(datetime.now(UTC))
    return overlaps(canon, lo, hi) and not never_happens(canon)


def _strip(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k not in VOLATILE}


def _diff(before: dict[str, Any], after: dict[str, Any], skip: set[str]) -> list[str]:
    keys = (set(before) | set(after)) - skip - VOLATILE
    return sorted(k for k in keys if before.get(k) != after.get(k))


def _people_fields(person: dict[str, Any]) -> dict[str, Any]:
    return {k: [{a: b for a, b in i.items() if a != "metadata"} for i in v] if isinstance(v, list) else v
            for k, v in person.items()}  # fmt: skip


def _edit_and_check(s: Stack, f: Figures, every: int) -> None:
    """Edit every ``every``-th synced record in the CRM (a field per kind), sync, and compare."""
    google_events, google_people = s.google_events(), s.google_contacts()
    activities, contacts = s.crm_activities(), s.crm_contacts()
    links = s.store.connection_store(s.conn.id)
    edited: dict[str, str] = {}  # google id -> the Google field the edit lands in
    for n, lk in enumerate(sorted(links.all_links(Kind.CONTACTS), key=lambda x: x.crm_id)):
        rec = contacts.get(lk.crm_id)
        if rec is None or n % every:
            continue
        edits: list[tuple[dict[str, Any], str]] = [
            ({"notes": "corpus edit"}, "biographies"),
            ({"given_name": f"{rec.given_name or ''} Jr".strip()}, "names"),
            ({"phones": [*(p.model_dump() for p in rec.phones), {"type": "other", "value": "+1 415 555 0100"}]},
             "phoneNumbers"),
        ]  # fmt: skip
        patch, lands = edits[(n // every) % 3]
        s.crm.update("contacts", rec.id, patch, rec.version, on_behalf_of=s.crm_user)
        edited[lk.google_id] = lands
    for n, lk in enumerate(sorted(links.all_links(Kind.EVENTS), key=lambda x: x.crm_id)):
        act = activities.get(lk.crm_id)
        if act is None or n % every:
            continue
        patch, lands = [
            ({"location": "Room 7"}, "location"),
            ({"subject": f"{act.subject} (moved)"}, "summary"),
            ({"description": "corpus edit"}, "description"),
        ][(n // every) % 3]
        s.crm.update("activities", act.id, patch, act.version, on_behalf_of=s.crm_user)
        edited[lk.google_id] = lands
    f.edited = {"records": len(edited)}
    _sync(s, f)
    again = _sync(s, f)  # and it settles: the echo of our writes changes nothing more
    for kind in again.get("kinds", {}).values():
        for key, count in kind["writes"].items():
            f.unedited_fields_changed.append(f"{kind['kind']}: a run after the edits still wrote {key} x{count}")
    after_events, after_people = s.google_events(), s.google_contacts()
    for gid, before in google_events.items():
        skip = {edited[gid]} if gid in edited else set()
        changed = _diff(_strip(before), _strip(after_events.get(gid, {})), skip)
        f.unedited_fields_changed += [f"google event {gid}: {c}" for c in changed]
    for rid, before in google_people.items():
        skip = {edited[rid]} if rid in edited else set()
        changed = _diff(_people_fields(before), _people_fields(after_people.get(rid, {})), skip)
        f.unedited_fields_changed += [f"google contact {rid}: {c}" for c in changed]
    edited_crm = {lk.crm_id for kind in (Kind.EVENTS, Kind.CONTACTS) for lk in links.all_links(kind)
                  if lk.google_id in edited}  # fmt: skip
    for now, was in ((s.crm_activities(), activities), (s.crm_contacts(), contacts)):
        for cid, rec in was.items():
            if cid not in edited_crm and now.get(cid) is not None and now[cid].version != rec.version:
                f.unedited_fields_changed.append(f"crm {cid}: written to without an edit")


def run(*, sample: int | None = None, every: int = 3, emulator: Any = None, workdir: Path | None = None) -> Figures:
    """The corpus run; ``sample`` takes every n-th record only (None: all)."""
    warnings.simplefilter("ignore")  # the parser's notes on vendor time-zone ids
    events = list(calendar_items())
    people = list(vcard_items(fetch_vcard_sources()))
    if sample:
        events, people = events[::sample], people[::sample]
    own = emulator is None
    if own:
        from infra.google_emulator.server import EmulatorServer

        emulator = EmulatorServer().start()
    f = Figures()
    try:
        emulator.state.reset()
        with tempfile.TemporaryDirectory() as tmp, stack(emulator, workdir or Path(tmp), region="US") as s:
            event_ids, person_ids = _import(s, events, people, f)
            summary = _sync(s, f)
            _account(s, summary, event_ids, person_ids, f)
            _edit_and_check(s, f, every)
    finally:
        if own:
            emulator.stop()
    return f


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", type=int, default=None, help="take every n-th record only")
    args = parser.parse_args()
    started = time.monotonic()
    figures = run(sample=args.sample).as_dict()
    figures.update(wall_s=round(time.monotonic() - started, 1), peak_rss_mib=peak_rss_mib())
    RESULT.write_text(json.dumps(figures, indent=2, sort_keys=True) + "\n")
    print(json.dumps(figures, indent=2, sort_keys=True))


if __name__ == "__main__":
    main()
