"""Shared helpers of the People emulator tests (real googleapiclient against the emulator)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from googleapiclient.errors import HttpError

from infra.google_emulator.core import SCOPE_CONTACTS
from tests.support.google import credentials, service

ME = "people/me"


def people(
    emulator: Any, email: str = "owner@example.com", scopes: frozenset[str] = frozenset({SCOPE_CONTACTS})
) -> Any:
    """A People service for ``email`` with ``scopes``."""
    return service("people", emulator.base_url, credentials(emulator.state, email, scopes))


def error_of(call: Any) -> tuple[int, dict[str, Any]]:
    """Execute ``call`` expecting an HttpError; return (status, the google.rpc error object)."""
    with pytest.raises(HttpError) as info:
        call.execute()
    return info.value.resp.status, json.loads(info.value.content)["error"]


def person(given: str, family: str = "", **extra: Any) -> dict[str, Any]:
    """A minimal Person body."""
    return {"names": [{"givenName": given, "familyName": family}], **extra}


def list_all(svc: Any, **params: Any) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Every page of connections.list; returns (people, last response)."""
    out: list[dict[str, Any]] = []
    token = None
    while True:
        resp = svc.people().connections().list(resourceName=ME, pageToken=token, **params).execute()
        out += resp.get("connections", [])
        token = resp.get("nextPageToken")
        if not token:
            return out, resp
