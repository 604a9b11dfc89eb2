"""FakeCrm details the contract suite does not reach: thread safety and isolation of returned data."""

from __future__ import annotations

import threading

import pytest

from crmsync.crm.fake import FakeCrm
from crmsync.crm.models import Contact

pytestmark = pytest.mark.unit


def test_returned_records_are_copies() -> None:
    fake = FakeCrm()
    rec = fake.create("contacts", {"given_name": "A", "emails": [{"type": "work", "value": "a@example.com"}]}, "k")
    assert isinstance(rec, Contact)
    rec.emails[0].value = "changed@example.com"
    again = fake.get("contacts", rec.id)
    assert isinstance(again, Contact)
    assert again.emails[0].value == "a@example.com"


def test_concurrent_creates_get_distinct_sequences() -> None:
    fake = FakeCrm()

    def work(n: int) -> None:
        for i in range(50):
            fake.create("tasks", {"title": f"{n}-{i}"}, f"{n}-{i}")

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    page = fake.changes("tasks", None)
    assert len(page.items) == 200
    assert len({i.id for i in page.items}) == 200
