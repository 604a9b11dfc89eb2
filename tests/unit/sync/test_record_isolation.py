"""One record never stops a kind (issue 12, point 1): a write that cannot be built for one record,
or a pair whose stored state cannot be merged, is skipped with a note; the rest sync."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from crmsync.model.contact import canonical_contact, match_keys
from crmsync.model.cursor import RetryList
from crmsync.model.kinds import Kind, Side
from crmsync.model.link import Link, LinkSide
from crmsync.model.settings import KindSettings
from crmsync.store.memory import MemoryStore
from crmsync.sync.engine import KindSync
from tests.support.fakes import FakeSide

pytestmark = pytest.mark.unit


def person(given: str, email: str) -> dict[str, object]:
    return canonical_contact({"given": given, "emails": [{"type": "work", "value": email}]}, default_region="DE")


def engine(crm: FakeSide, google: FakeSide, store: MemoryStore) -> KindSync:
    settings = KindSettings(google_group=None)
    return KindSync(
        Kind.CONTACTS,
        crm,
        google,
        store.connection_store("c1"),
        settings,
        clock=lambda: datetime(2026, 11, 22, tzinfo=UTC),
        match_keys=match_keys,
    )


def test_a_write_that_fails_for_one_record_does_not_stop_its_batch() -> None:
    """Failed on main: the ValueError from the batch call ended the run, nobody was created."""
    crm, google, store = FakeSide(prefix="crm"), FakeSide(prefix="people/c"), MemoryStore()
    for i in range(5):
        crm.put(person(f"P{i}", f"p{i}@example.com"))
    google.unwritable = {"P2"}
    report = engine(crm, google, store).run()
    assert report.writes == {"google.create": 4}
    assert len(crm.records) == 5
    assert len(report.errors) == 1 and "cannot build a body" in report.errors[0]
    assert report.complete  # the failed one is kept on the cursor and retried next run, unedited
    google.unwritable = set()
    again = engine(crm, google, store).run()
    assert again.writes == {"google.create": 1} and again.complete


def test_a_pair_whose_link_cannot_be_merged_is_skipped_with_a_note() -> None:
    """Failed on main: the TypeError of one corrupt link base ended the whole run."""
    crm, google, store = FakeSide(prefix="crm"), FakeSide(prefix="people/c"), MemoryStore()
    ok_c, bad_c = crm.put(person("Ok", "ok@example.com")), crm.put(person("Bad", "bad@example.com"))
    ok_g, bad_g = google.put(person("Ok", "ok@example.com")), google.put(person("Bad", "bad@example.com"))
    links = store.connection_store("c1")
    now = datetime(2026, 11, 1, tzinfo=UTC)
    common = {"kind": Kind.CONTACTS, "created_by": Side.CRM, "synced_at": now}
    good = Link(
        crm=LinkSide(id=ok_c, seen_hash="x"),
        google=LinkSide(id=ok_g, seen_hash="y"),
        base=person("Ok", "ok@example.com"),
        **common,
    )
    corrupt = Link(
        crm=LinkSide(id=bad_c, seen_hash="x"),
        google=LinkSide(id=bad_g, seen_hash="y"),
        base={**person("Bad", "bad@example.com"), "emails": [5]},
        **common,
    )
    links.save_links([good, corrupt], [])
    crm.edit(ok_c, given="Okay")
    crm.edit(bad_c, emails=[{"value": "new@example.com", "type": "work"}])
    google.edit(bad_g, emails=[{"value": "other@example.com", "type": "home"}])
    report = engine(crm, google, store).run()
    assert google.records[ok_g].canon["given"] == "Okay"
    assert [n for n in report.notes if bad_c in n] == [
        f"crm {bad_c}: skipped: could not sync this record (TypeError: 'int' object is not subscriptable)"
    ]
    assert not report.complete or store.connection_store("c1").cursor(Kind.CONTACTS).retry != RetryList()
