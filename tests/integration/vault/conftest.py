"""Vault fixtures: the official Secret Manager client (REST transport) served by drongo."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from drongo import mock_gcp
from google.auth.credentials import AnonymousCredentials
from google.cloud import secretmanager

PROJECT = "crmsync-test"


@pytest.fixture
def sm_client() -> Iterator[secretmanager.SecretManagerServiceClient]:
    """A real SecretManagerServiceClient whose REST calls drongo answers in-process."""
    with mock_gcp():
        yield secretmanager.SecretManagerServiceClient(transport="rest", credentials=AnonymousCredentials())
