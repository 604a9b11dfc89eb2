"""Short and empty pages in Calendar and Tasks listings, through the unmodified google-api-python-client.

Google's text followed: Calendar events.list, https://developers.google.com/workspace/calendar/api/v3/reference/events/list,
``maxResults``: "The number of events in the resulting page may be less than this value, or none at all, even
if there are more events matching the query. Incomplete pages can be detected by a non-empty nextPageToken
field in the response"; the paging guide https://developers.google.com/workspace/calendar/api/guides/pagination
("maxResults doesn't guarantee the number of results on one page"). Tasks pages the same way
(https://developers.google.com/workspace/tasks/reference/rest/v1/tasks/list: "nextPageToken: Token used
to access the next page of this result").
"""

from __future__ import annotations

from typing import Any

import pytest

from infra.google_emulator.realism import configure
from tests.integration.google_emulator.test_calendar_support import calendar_service, timed
from tests.support.google import credentials, service

pytestmark = pytest.mark.integration


def _pages(call: Any, items_key: str = "items") -> tuple[list[list[dict[str, Any]]], dict[str, Any]]:
    """Every page of a listing (``call(page_token)`` makes the request) and the last response."""
    pages, token = [], None
    while True:
        resp = call(token).execute()
        pages.append(resp.get(items_key, []))
        token = resp.get("nextPageToken")
        if not token:
            return pages, resp


@pytest.mark.parametrize(
    "params",
    [{}, {"singleEvents": True}, {"singleEvents": True, "orderBy": "startTime"}, {"showDeleted": True}],
    ids=["log", "single", "ordered", "deleted"],
)
def test_event_listings_page_short_and_empty_and_still_list_everything(emulator: Any, params: dict[str, Any]) -> None:
    svc = calendar_service(emulator)
    made = [
        svc.events()
        .insert(calendarId="primary", body=timed(f"2026-10-{d:02d}T09:00:00", f"2026-10-{d:02d}T10:00:00", "UTC"))
        .execute()["id"]
        for d in range(2, 16)
    ]
    configure(emulator.state, {"short_pages": True})
    pages, last = _pages(lambda t: svc.events().list(calendarId="primary", maxResults=4, pageToken=t, **params))
    assert pages[0] == [] and len(pages) > 4 and all(len(p) <= 4 for p in pages)
    assert sorted(e["id"] for p in pages for e in p) == sorted(made)
    assert "nextSyncToken" in last
    if "orderBy" not in params:
        moved = svc.events().patch(calendarId="primary", eventId=made[3], body={"summary": "moved"}).execute()
        sync = {k: v for k, v in params.items() if k == "singleEvents"}
        again, _ = _pages(
            lambda t: svc.events().list(
                calendarId="primary", maxResults=4, pageToken=t, syncToken=last["nextSyncToken"], **sync
            )
        )
        assert [e["id"] for p in again for e in p] == [moved["id"]]


def test_instances_and_calendar_list_page_short(emulator: Any) -> None:
    svc = calendar_service(emulator)
    body = timed("2026-10-05T09:00:00", "2026-10-05T10:00:00", "UTC", recurrence=["RRULE:FREQ=DAILY;COUNT=9"])
    series = svc.events().insert(calendarId="primary", body=body).execute()
    for i in range(4):
        svc.calendars().insert(body={"summary": f"C{i}"}).execute()
    configure(emulator.state, {"short_pages": True})
    pages, _ = _pages(
        lambda t: svc.events().instances(calendarId="primary", eventId=series["id"], maxResults=3, pageToken=t)
    )
    assert pages[0] == [] and len([e for p in pages for e in p]) == 9
    cals, _ = _pages(lambda t: svc.calendarList().list(maxResults=2, pageToken=t))
    assert cals[0] == [] and len([c for p in cals for c in p]) == 5


def test_task_listings_page_short_and_empty(emulator: Any) -> None:
    svc = service("tasks", emulator.base_url, credentials(emulator.state, "tom@example.com"))
    made = [svc.tasks().insert(tasklist="@default", body={"title": f"T{i}"}).execute()["id"] for i in range(11)]
    for i in range(3):
        svc.tasklists().insert(body={"title": f"L{i}"}).execute()
    configure(emulator.state, {"short_pages": True})
    pages, _ = _pages(lambda t: svc.tasks().list(tasklist="@default", maxResults=4, pageToken=t))
    assert pages[0] == [] and all(len(p) <= 4 for p in pages)
    assert sorted(t["id"] for p in pages for t in p) == sorted(made)
    since = "2000-01-01T00:00:00Z"
    pages, _ = _pages(
        lambda t: svc.tasks().list(tasklist="@default", maxResults=3, updatedMin=since, showDeleted=True, pageToken=t)
    )
    assert sorted(t["id"] for p in pages for t in p) == sorted(made)
    lists, _ = _pages(lambda t: svc.tasklists().list(maxResults=2, pageToken=t))
    assert lists[0] == [] and len([x for p in lists for x in p]) == 4
