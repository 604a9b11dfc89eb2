"""Shared helpers for the Calendar emulator tests (real googleapiclient against the emulator)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from googleapiclient.errors import HttpError

from tests.support.google import credentials, service

ME = "anna@example.com"
NOW = datetime(2026, 10, 1, 8, 0, tzinfo=UTC)


def calendar_service(emulator: Any, email: str = ME, scopes: frozenset[str] | None = None) -> Any:
    """A Calendar client for ``email`` with the emulator clock frozen at ``NOW``."""
    emulator.state.clock.set(NOW, frozen=True)
    creds = credentials(emulator.state, email) if scopes is None else credentials(emulator.state, email, scopes)
    return service("calendar", emulator.base_url, creds)


def api_error(call: Callable[[], Any]) -> tuple[int, str, str, dict[str, Any]]:
    """Run a request that must fail: (status, errors[0].reason, message, errors[0])."""
    with pytest.raises(HttpError) as info:
        call()
    body = json.loads(info.value.content)["error"]
    return info.value.resp.status, body["errors"][0]["reason"], body["message"], body["errors"][0]


def timed(start: str, end: str, tz: str, **extra: Any) -> dict[str, Any]:
    """An Event body with wall-clock start/end in ``tz``."""
    return {"start": {"dateTime": start, "timeZone": tz}, "end": {"dateTime": end, "timeZone": tz}, **extra}


def list_all(svc: Any, **params: Any) -> tuple[list[dict[str, Any]], str | None, int]:
    """Page through events.list: (items, nextSyncToken, pages)."""
    items: list[dict[str, Any]] = []
    token = None
    pages = 0
    while True:
        resp = svc.events().list(calendarId="primary", pageToken=token, **params).execute()
        pages += 1
        items += resp["items"]
        assert ("nextPageToken" in resp) != ("nextSyncToken" in resp), "exactly one of nextPageToken / nextSyncToken"
        token = resp.get("nextPageToken")
        if token is None:
            return items, resp["nextSyncToken"], pages
