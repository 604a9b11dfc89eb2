"""A CRM that declares ``recurrence_exceptions: false`` (GET /capabilities) never receives an
occurrence exception (issue 17): crmsync writes the series with its cancellations (EXDATEs) and
holds each moved or retitled occurrence in Google as a stand-in, says so in the run's notes, and
Google keeps it through later CRM edits of the series. The reference CRM playing such a CRM
refuses any exception, so one sent would show as a refusal."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from crmsync.crm.models import Capabilities
from crmsync.crm.rest import RestCrmConnector
from infra.crm import CrmServer
from tests.integration.events.support import EMAIL, World

pytestmark = pytest.mark.integration


@pytest.fixture
def crm(tmp_path: Path) -> Iterator[CrmServer]:
    server = CrmServer(tmp_path / "crm.sqlite", api_key="k", capabilities=Capabilities(recurrence_exceptions=False))
    server.start()
    server.store.add_user(EMAIL, "Anna", user_id="u1")
    yield server
    server.stop()


def test_regression_a_crm_without_recurrence_exceptions_never_receives_one(emulator: Any, crm: CrmServer) -> None:
    w = World(emulator)
    w.crm = RestCrmConnector(crm.base_url, "k", sleep=lambda _s: None)  # type: ignore[assignment]
    master = dict(
        w.service.events()
        .insert(
            calendarId="primary",
            body={"summary": "Ward round", "start": {"dateTime": "2026-10-19T09:00:00", "timeZone": "Europe/Berlin"},
                  "end": {"dateTime": "2026-10-19T10:00:00", "timeZone": "Europe/Berlin"},
                  "recurrence": ["RRULE:FREQ=DAILY;COUNT=5"]},
        )
        .execute()
    )  # fmt: skip
    items = w.service.events().instances(calendarId="primary", eventId=master["id"]).execute()["items"]
    moved = next(i for i in items if i["originalStartTime"]["dateTime"].startswith("2026-10-21"))
    w.service.events().patch(
        calendarId="primary", eventId=moved["id"],
        body={"start": {"dateTime": "2026-10-21T14:00:00", "timeZone": "Europe/Berlin"},
              "end": {"dateTime": "2026-10-21T15:00:00", "timeZone": "Europe/Berlin"}},
    ).execute()  # fmt: skip
    cancelled = next(i for i in items if i["originalStartTime"]["dateTime"].startswith("2026-10-22"))
    w.service.events().delete(calendarId="primary", eventId=cancelled["id"]).execute()

    report = w.sync()
    assert report.errors == [], report.errors
    assert not [n for n in report.notes if "kept out of the CRM" in n], report.notes  # nothing was refused
    assert any("recurrence_exceptions" in n and "2026-10-21" in n for n in report.notes), report.notes
    (series,) = w.activities().values()
    assert series.exceptions == []
    assert series.recurrence is not None and series.recurrence.exdates == ["2026-10-22T09:00:00"]
    assert w.sync().writes == {}

    def moved_now() -> dict[str, Any]:
        found = w.service.events().instances(calendarId="primary", eventId=master["id"]).execute()["items"]
        return next(i for i in found if i["originalStartTime"]["dateTime"].startswith("2026-10-21"))

    assert moved_now()["start"]["dateTime"].startswith("2026-10-21T14:00:00")
    w.crm.update("activities", series.id, {"subject": "Ward round (new)"}, series.version)
    report = w.sync()
    assert report.errors == [], report.errors
    assert not [n for n in report.notes if "kept out of the CRM" in n], report.notes
    assert moved_now()["start"]["dateTime"].startswith("2026-10-21T14:00:00")  # Google keeps it
    assert w.activities()[series.id].exceptions == []
    assert w.sync().writes == {}
