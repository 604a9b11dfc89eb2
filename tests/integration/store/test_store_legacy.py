"""Documents of the previous release's shape still load, in every store, and are written back in
today's shape: cursors kept their kind-specific state in a free-form ``extra`` map; links kept
each side's state in flat crm_/google_ fields with sentinel hashes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from crmsync.model.choices import HeldRecord, StopAnswer, StopChoice, UserChoices, ValueChoice
from crmsync.model.cursor import CrmFeed, Cursor, GooglePlace, PendingConflict, PendingCreates, RetryList
from crmsync.model.kinds import Kind, Side
from crmsync.model.link import LinkSide
from crmsync.model.settings import ConflictPolicy
from tests.integration.store.conftest import AnyStore
from tests.integration.store.helpers import get_raw, put_raw

T0 = datetime(2026, 11, 22, 9, 30, tzinfo=UTC)
T1 = datetime(2026, 11, 22, 9, 45, 12, 500000, tzinfo=UTC)
FILTERS = '{"owner": "u1", "tag": "google", "user": "u1"}'
CONFLICT = {
    "crm_id": "con_1",
    "google_id": "people/c1",
    "field": "emails",
    "winner": "crm",
    "policy": "crm_wins",
    "crm": [{"type": "work", "value": "anna@crm.example"}],
    "google": [{"type": "home", "value": "anna@gmail.example"}],
    "name": "Anna Schmidt",
}

# Cursor documents exactly as the previous release stored them (every key of ``extra`` it wrote).
OLD_CURSORS: dict[Kind, dict[str, Any]] = {
    Kind.CONTACTS: {
        "kind": "contacts",
        "google_token": "people-sync-token",
        "crm_cursor": "eyJ2IjoxLCJzZXEiOjQyfQ",
        "full_sync": False,
        "updated_at": T0,
        "extra": {
            "google_group_resource_name": "contactGroups/1a2b3c",
            "crm_feed": FILTERS,
            "crm_creating": {"people/c7": "etag-7", "people/c8": "etag-8-after-con_3"},
            "crm_creating_at": T1.isoformat(),
            "unreported_conflicts": [CONFLICT, {**CONFLICT, "field": "given", "crm": "Anna", "google": None}],
            "retry": {"crm": ["con_9"], "google": ["people/c9", "people/c10"], "overflow": False},
            "deletes_approved": {
                "count": 9,
                "records": ["google:con_1:people/c1", "crm:con_2:None"],
                "at": T1.isoformat(),
                "by": "u1",
            },
        },
    },
    Kind.EVENTS: {
        "kind": "events",
        "google_token": "calendar-sync-token",
        "crm_cursor": None,
        "full_sync": True,
        "updated_at": T0,
        "extra": {
            "write_calendar_id": "crm-cal@group.calendar.google.com",
            "written_calendars": ["primary", "crm-cal@group.calendar.google.com"],
            "listed_in_full_at": T0.isoformat(),
            "quota_until": T1.isoformat(),
            "crm_feed": FILTERS,
            "crm_feed_restart": True,
            "retry": {"crm": [], "google": [], "overflow": True},
            "user_choices": {  # as kept since the user could also answer "Keep them" and pick values
                "stop": {
                    "answer": "restore",
                    "count": 2,
                    "records": [{"side": "google", "crm_id": "act_1", "google_id": "ev1"}],
                    "at": T1.isoformat(),
                    "by": "u1",
                },
                "values": [
                    {
                        "crm_id": "act_2",
                        "google_id": "ev2",
                        "field": "location",
                        "source": "google",
                        "value": "Room 4",
                        "replaces": None,
                        "at": T1.isoformat(),
                        "by": "u1",
                    }
                ],
            },
        },
    },
    Kind.TASKS: {
        "kind": "tasks",
        "google_token": "2026-11-22T09:30:00.000Z",
        "crm_cursor": "eyJ2IjoxfQ",
        "full_sync": False,
        "updated_at": T0,
        "extra": {"place": "tasks", "field_mapping": "5f1e2d3c4b5a6978"},
    },
}

EXPECTED: dict[Kind, Cursor] = {
    Kind.CONTACTS: Cursor(
        kind=Kind.CONTACTS,
        google_token="people-sync-token",
        crm_cursor="eyJ2IjoxLCJzZXEiOjQyfQ",
        full_sync=False,
        updated_at=T0,
        crm_feed=CrmFeed(filters=FILTERS),
        place=GooglePlace(group="contactGroups/1a2b3c"),
        crm_creating=PendingCreates(keys={"people/c7": "etag-7", "people/c8": "etag-8-after-con_3"}, since=T1),
        unreported_conflicts=(
            PendingConflict(
                crm_id="con_1",
                google_id="people/c1",
                field="emails",
                winner=Side.CRM,
                policy=ConflictPolicy.CRM_WINS,
                crm=[{"type": "work", "value": "anna@crm.example"}],
                google=[{"type": "home", "value": "anna@gmail.example"}],
                name="Anna Schmidt",
            ),
            PendingConflict(
                crm_id="con_1",
                google_id="people/c1",
                field="given",
                winner=Side.CRM,
                policy=ConflictPolicy.CRM_WINS,
                crm="Anna",
                google=None,
                name="Anna Schmidt",
            ),
        ),
        retry=RetryList(crm=("con_9",), google=("people/c9", "people/c10")),
        user_choices=UserChoices(
            stop=StopChoice(
                answer=StopAnswer.DELETE,
                count=9,
                records=[
                    HeldRecord(side=Side.GOOGLE, crm_id="con_1", google_id="people/c1"),
                    HeldRecord(side=Side.CRM, crm_id="con_2", google_id=None),
                ],
                at=T1,
                by="u1",
            )
        ),
    ),
    Kind.EVENTS: Cursor(
        kind=Kind.EVENTS,
        google_token="calendar-sync-token",
        full_sync=True,
        updated_at=T0,
        listed_in_full_at=T0,
        quota_until=T1,
        crm_feed=CrmFeed(filters=FILTERS, restarting=True),
        place=GooglePlace(
            calendar="crm-cal@group.calendar.google.com",
            written_calendars=("primary", "crm-cal@group.calendar.google.com"),
        ),
        retry=RetryList(overflow=True),
        user_choices=UserChoices(
            stop=StopChoice(
                answer=StopAnswer.RESTORE,
                count=2,
                records=[HeldRecord(side=Side.GOOGLE, crm_id="act_1", google_id="ev1")],
                at=T1,
                by="u1",
            ),
            values=[
                ValueChoice(
                    crm_id="act_2",
                    google_id="ev2",
                    field="location",
                    source=Side.GOOGLE,
                    value="Room 4",
                    replaces=None,
                    at=T1,
                    by="u1",
                )
            ],
        ),
    ),
    Kind.TASKS: Cursor(
        kind=Kind.TASKS,
        google_token="2026-11-22T09:30:00.000Z",
        crm_cursor="eyJ2IjoxfQ",
        full_sync=False,
        updated_at=T0,
        place=GooglePlace(target="tasks"),
        field_mapping_digest="5f1e2d3c4b5a6978",
    ),
}


@pytest.mark.parametrize("kind", list(Kind))
def test_a_cursor_of_the_previous_shape_loads_typed_and_is_saved_in_today_s(store: AnyStore, kind: Kind) -> None:
    path = ("connections", "c1", "cursors", kind.value)
    put_raw(store, path, OLD_CURSORS[kind])
    links = store.connection_store("c1")

    cursor = links.cursor(kind)
    assert cursor == EXPECTED[kind]

    links.save_cursor(cursor)
    stored = get_raw(store, path)
    assert stored is not None and "extra" not in stored
    assert set(stored) == set(Cursor.model_fields)
    assert links.cursor(kind) == EXPECTED[kind]  # today's shape reads back the same


def test_a_cursor_entry_no_release_wrote_is_dropped_not_fatal(store: AnyStore) -> None:
    path = ("connections", "c1", "cursors", "tasks")
    put_raw(store, path, {**OLD_CURSORS[Kind.TASKS], "extra": {"place": "calendar", "someday": 1}})
    assert store.connection_store("c1").cursor(Kind.TASKS).place == GooglePlace(target="calendar")


OLD_LINK = {  # a link document exactly as the previous release stored it (flat per-side fields)
    "kind": "contacts",
    "crm_id": "con_1",
    "google_id": "people/c1",
    "base": {"given": "Anna", "emails": [{"type": "work", "value": "anna@crm.example"}]},
    "crm_hash": "",  # parked
    "google_hash": "81e96efc1885a5e309367066e8269d29",
    "crm_version": 3,
    "google_etag": "%EgUBAi43PRoEAQIFByIM",
    "created_by": "google",
    "synced_at": T0,
    "crm_held": {"company": None},
}
OLD_UNCONFIRMED = {
    **{k: v for k, v in OLD_LINK.items() if k != "crm_held"},
    "crm_id": "con_2",
    "google_id": "people/c2",
    "crm_hash": "0f1e2d3c4b5a69788796a5b4c3d2e1f0",
    "google_hash": "unconfirmed",
    "crm_version": None,
    "google_etag": None,
}


def test_links_of_the_previous_flat_shape_are_found_by_every_lookup_and_saved_nested(store: AnyStore) -> None:
    put_raw(store, ("connections", "c1", "links", "contacts:con_1"), OLD_LINK)
    put_raw(store, ("connections", "c1", "links", "contacts:con_2"), OLD_UNCONFIRMED)
    links = store.connection_store("c1")

    old = links.links_by_crm(Kind.CONTACTS, ["con_1"])["con_1"]
    assert old.crm == LinkSide(id="con_1", version="3", held={"company": None}, parked=True)
    assert old.google == LinkSide(
        id="people/c1", seen_hash="81e96efc1885a5e309367066e8269d29", version=OLD_LINK["google_etag"]
    )
    assert (old.base, old.created_by, old.synced_at) == (OLD_LINK["base"], Side.GOOGLE, T0)
    unconfirmed = links.links_by_google(Kind.CONTACTS, ["people/c2"])["people/c2"]  # the query finds old documents
    assert unconfirmed.google == LinkSide(id="people/c2") and not unconfirmed.parked
    assert unconfirmed.crm == LinkSide(id="con_2", seen_hash="0f1e2d3c4b5a69788796a5b4c3d2e1f0")
    assert [lk.crm_id for lk in links.all_links(Kind.CONTACTS)] == ["con_1", "con_2"]
    assert links.count_links(Kind.CONTACTS) == 2

    links.save_links([old, unconfirmed], [])
    stored = get_raw(store, ("connections", "c1", "links", "contacts:con_1"))
    assert stored is not None
    assert set(stored) == {"kind", "google_id", "base", "created_by", "synced_at", "crm", "google"}
    assert stored["crm"] == {
        "id": "con_1",
        "seen_hash": None,
        "version": "3",
        "parked": True,
        "held": {"company": None},
    }
    assert links.links_by_google(Kind.CONTACTS, ["people/c1", "people/c2"]) == {
        "people/c1": old,
        "people/c2": unconfirmed,
    }
    assert links.links_by_crm(Kind.CONTACTS, ["con_1"]) == {"con_1": old}
