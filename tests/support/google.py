"""Helpers that point the unmodified Google client libraries at the emulator."""

from __future__ import annotations

from typing import Any

from google.oauth2.credentials import Credentials
from googleapiclient.discovery import build
from googleapiclient.http import BatchHttpRequest

from infra.google_emulator.core import (
    SCOPE_CALENDAR,
    SCOPE_CONTACTS,
    SCOPE_TASKS,
    EmulatorState,
)

ALL_SCOPES = frozenset({SCOPE_CONTACTS, SCOPE_CALENDAR, SCOPE_TASKS})


def credentials(state: EmulatorState, email: str, scopes: frozenset[str] = ALL_SCOPES) -> Credentials:
    """Access-token-only credentials minted directly in the emulator's state."""
    tok = state.mint_access_token(email, scopes)
    return Credentials(token=tok.token)


def service(api: str, base_url: str, creds: Credentials) -> Any:
    """A google-api-python-client service for ``api`` aimed at the emulator."""
    if api == "people":
        return build(
            "people",
            "v1",
            credentials=creds,
            static_discovery=True,
            client_options={"api_endpoint": base_url},
            cache_discovery=False,
        )
    if api == "calendar":
        return build(
            "calendar",
            "v3",
            credentials=creds,
            static_discovery=True,
            client_options={"api_endpoint": base_url + "/calendar/v3/"},
            cache_discovery=False,
        )
    if api == "tasks":
        return build(
            "tasks",
            "v1",
            credentials=creds,
            static_discovery=True,
            client_options={"api_endpoint": base_url},
            cache_discovery=False,
        )
    raise ValueError(api)


def batch(api: str, base_url: str, svc: Any) -> BatchHttpRequest:
    """A batch request aimed at the emulator's batch endpoint for ``api``."""
    uri = base_url + ("/batch/calendar/v3" if api == "calendar" else "/batch")
    return BatchHttpRequest(batch_uri=uri)
