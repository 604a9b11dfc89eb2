"""A CRM that keeps idempotency keys for a shorter time than crmsync may replay a create
(``idempotency_key_retention_days`` in GET /capabilities): crmsync must not replay a create whose
key the CRM has forgotten — that makes a second record. Past the declared retention it pairs the
Google record with the record the lost create made (by its first-sync keys, from the feed)
instead of replaying, and nothing is duplicated (issue 17)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from crmsync.crm.models import Capabilities
from crmsync.crm.port import CrmError
from crmsync.crm.rest import RestCrmConnector
from tests.integration.events.support import EMAIL, World
from tests.support.crm_faults import BrokenCrm

pytestmark = pytest.mark.integration


@pytest.fixture
def crm(tmp_path: Path) -> Iterator[BrokenCrm]:
    server = BrokenCrm(tmp_path / "crm.sqlite", capabilities=Capabilities(idempotency_key_retention_days=1)).start()
    server.store.add_user(EMAIL, "Anna", user_id="u1")
    yield server
    server.stop()


def test_regression_a_create_older_than_the_crms_key_retention_is_linked_not_replayed(
    emulator: Any, crm: BrokenCrm
) -> None:
    w = World(emulator)
    w.crm = RestCrmConnector(crm.base_url, "k", sleep=lambda _s: None)  # type: ignore[assignment]
    w.service.events().insert(
        calendarId="primary",
        body={"summary": "Board meeting", "start": {"dateTime": "2026-10-20T10:00:00", "timeZone": "Europe/Berlin"},
              "end": {"dateTime": "2026-10-20T11:00:00", "timeZone": "Europe/Berlin"}},
    ).execute()  # fmt: skip
    # The CRM creates the activity but crmsync never gets a usable reply: the run stops.
    crm.rewrite = lambda _m, path, _s, body: {} if path.endswith("/bulk") else body
    with pytest.raises(CrmError):
        w.sync()
    crm.rewrite = None
    assert [a.subject for a in w.activities().values()] == ["Board meeting"]
    # Two days pass (the connection could not run): the CRM, keeping keys one day, forgot the key.
    w.now += timedelta(days=2)
    with crm.store.db.write() as conn:
        conn.execute("UPDATE idempotency SET created_at = '2026-10-13T08:00:00Z'")
    report = w.sync()
    assert report.errors == [], report.errors
    w.sync()
    assert [a.subject for a in w.activities().values()] == ["Board meeting"]  # never a second record
    assert len(w.events()) == 1
    assert w.sync().writes == {}
