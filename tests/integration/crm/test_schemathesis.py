"""Property-based API tests: schemathesis against the reference CRM's own OpenAPI document.

Every generated request must get a non-5xx answer whose status, content type,
headers and body conform to the document.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import schemathesis
import yaml
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from infra.crm import CrmServer
from infra.crm.app import OPENAPI_PATH as OPENAPI

pytestmark = pytest.mark.integration
API_KEY = "schemathesis-key"


@pytest.fixture(scope="module")
def crm_base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A reference CRM with one admin and one user, on a free port."""
    db: Path = tmp_path_factory.mktemp("crm-st") / "crm.sqlite"
    server = CrmServer(db, api_key=API_KEY).start()
    server.store.add_user("admin@example.com", "Admin", "admin", user_id="usr_admin")
    server.store.add_user("user@example.com", "User", "user", user_id="usr_user")
    yield server.base_url
    server.stop()


def test_server_publishes_the_document_in_the_repo(crm_base_url: str) -> None:
    served = requests.get(f"{crm_base_url}/openapi.json", timeout=10).json()
    assert served == yaml.safe_load(OPENAPI.read_text(encoding="utf-8"))
    assert served["openapi"].startswith("3.1")
    assert requests.get(f"{crm_base_url}/openapi.yaml", timeout=10).content == OPENAPI.read_bytes()


schema = schemathesis.openapi.from_path(OPENAPI)


@schema.parametrize()
@settings(max_examples=6, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_api_conforms_to_its_openapi_document(case: schemathesis.Case, crm_base_url: str) -> None:
    case.call_and_validate(
        base_url=crm_base_url,
        headers={"Authorization": f"Bearer {API_KEY}"},
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_headers_conformance,
            response_schema_conformance,
        ],
    )
