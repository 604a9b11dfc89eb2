"""Google's HTTP conventions on the emulator, through the unmodified client libraries: the ``fields``
partial response, ``ETag`` with ``If-None-Match`` (304), and persistent (keep-alive) connections.

Followed: https://developers.google.com/workspace/calendar/api/guides/performance#partial-response
("fields=items(id,summary)" syntax: ``a/b``, ``a(b,c)``, ``*``; the same system parameter on People and
Tasks, https://cloud.google.com/apis/docs/system-parameters: "fields ... Selector specifying which
fields to include in a partial response"), and
https://developers.google.com/workspace/calendar/api/guides/version-resources ("If-None-Match ...
the server responds with 304 Not Modified" when the etag still matches).
"""

from __future__ import annotations

import http.client
import json
from typing import Any
from urllib.parse import urlsplit

import pytest
from googleapiclient.errors import HttpError

from tests.integration.google_emulator.people_helpers import ME, people, person
from tests.integration.google_emulator.test_calendar_support import calendar_service, timed
from tests.support.google import credentials, service

pytestmark = pytest.mark.integration


def test_fields_trims_every_api_to_what_was_asked(emulator: Any) -> None:
    svc = people(emulator)
    made = svc.people().createContact(body=person("Anna", "Schmidt", biographies=[{"value": "hi"}])).execute()
    resp = (
        svc.people()
        .connections()
        .list(resourceName=ME, personFields="names,biographies", fields="connections(resourceName,names/givenName)")
        .execute()
    )
    assert resp == {"connections": [{"resourceName": made["resourceName"], "names": [{"givenName": "Anna"}]}]}
    got = svc.people().get(resourceName=made["resourceName"], personFields="names", fields="etag").execute()
    assert got == {"etag": made["etag"]}

    cal = calendar_service(emulator)
    ev = (
        cal.events()
        .insert(calendarId="primary", body=timed("2026-10-02T09:00:00", "2026-10-02T10:00:00", "UTC", summary="S"))
        .execute()
    )
    listed = cal.events().list(calendarId="primary", fields="items(id,summary),nextSyncToken").execute()
    assert listed["items"] == [{"id": ev["id"], "summary": "S"}] and set(listed) == {"items", "nextSyncToken"}
    star = cal.events().get(calendarId="primary", eventId=ev["id"], fields="start/*").execute()
    assert star == {"start": {"dateTime": ev["start"]["dateTime"], "timeZone": "UTC"}}

    tasks = service("tasks", emulator.base_url, credentials(emulator.state, "anna@example.com"))
    tasks.tasks().insert(tasklist="@default", body={"title": "T", "notes": "n"}).execute()
    assert tasks.tasks().list(tasklist="@default", fields="items/title").execute() == {"items": [{"title": "T"}]}


@pytest.mark.parametrize("bad", ["items(id", "items)", "a,,b", "items(id)x", "a b"])
def test_a_malformed_field_selection_is_a_400(emulator: Any, bad: str) -> None:
    cal = calendar_service(emulator)
    with pytest.raises(HttpError) as info:
        cal.events().list(calendarId="primary", fields=bad).execute()
    assert info.value.resp.status == 400
    assert json.loads(info.value.content)["error"]["errors"][0]["location"] == "fields"


def test_etag_header_and_if_none_match_answers_304(emulator: Any) -> None:
    cal = calendar_service(emulator)
    ev = (
        cal.events()
        .insert(calendarId="primary", body=timed("2026-10-02T09:00:00", "2026-10-02T10:00:00", "UTC"))
        .execute()
    )
    req = cal.events().get(calendarId="primary", eventId=ev["id"])
    resp, _ = req.http.request(req.uri, "GET", headers=req.headers)
    assert resp["etag"] == ev["etag"]  # Calendar etags are already quoted
    req.headers["If-None-Match"] = ev["etag"]
    with pytest.raises(HttpError) as info:
        req.execute()
    assert info.value.resp.status == 304 and info.value.content == b""
    cal.events().patch(calendarId="primary", eventId=ev["id"], body={"summary": "changed"}).execute()
    assert req.execute()["summary"] == "changed"  # changed since: the resource again, with its new tag
    svc = people(emulator)
    made = svc.people().createContact(body=person("Ben")).execute()
    get = svc.people().get(resourceName=made["resourceName"], personFields="names")
    head, _ = get.http.request(get.uri, "GET", headers=get.headers)
    assert head["etag"] == json.dumps(made["etag"])  # quoted for HTTP
    get.headers["If-None-Match"] = head["etag"]
    with pytest.raises(HttpError) as info:
        get.execute()
    assert info.value.resp.status == 304


def test_connections_are_kept_alive(emulator: Any) -> None:
    token = emulator.state.mint_access_token("anna@example.com", frozenset({"https://www.googleapis.com/auth/tasks"}))
    url = urlsplit(emulator.base_url)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    socks = []
    for _ in range(3):
        conn.request("GET", "/tasks/v1/users/@me/lists", headers={"Authorization": f"Bearer {token.token}"})
        reply = conn.getresponse()
        assert reply.status == 200 and json.loads(reply.read())["kind"] == "tasks#taskLists"
        assert reply.version == 11
        socks.append(conn.sock)
    assert socks[0] is not None and all(s is socks[0] for s in socks)  # one connection served all three
    conn.request(
        "GET", "/tasks/v1/users/@me/lists", headers={"Authorization": f"Bearer {token.token}", "Connection": "close"}
    )
    closing = conn.getresponse()
    closing.read()
    assert closing.getheader("Connection") == "close" or conn.sock is None
    conn.close()
