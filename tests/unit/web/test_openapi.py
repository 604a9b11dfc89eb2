"""The OpenAPI document parses, is 3.1, and documents exactly the JSON routes the app serves."""

from __future__ import annotations

import re

import pytest
import yaml

from crmsync.web.api import OPENAPI
from crmsync.web.app import URLS

pytestmark = pytest.mark.unit
HTML_ONLY = {
    "/",
    "/healthz",
    "/openapi.yaml",
    "/connect",
    "/connect/confirm",
    "/connect/cancel",
    "/logout",
    "/oauth/callback",
    "/reconnect",
    "/admin",  # the admin pages (tests/unit/web/test_admin_pages.py)
    "/admin/login",
    "/admin/logout",
    "/admin/fields",  # the field-mapping section of the admin pages (tests/unit/mapping/test_admin_fields_page.py)
}


def test_document_matches_the_routes() -> None:
    doc = yaml.safe_load(OPENAPI.read_text())
    assert doc["openapi"] == "3.1.0"
    documented = {re.sub(r"\{(\w+)\}", lambda m: "<cid>" if m[1] == "id" else f"<{m[1]}>", p) for p in doc["paths"]}
    served = {r.rule for r in URLS.iter_rules()} - HTML_ONLY
    assert documented == served
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            assert op.get("security"), f"{method.upper()} {path} declares no security"
            errors = [c for c in op["responses"] if c.startswith("4")]
            assert errors, f"{method.upper()} {path} documents no error response"


def test_every_ref_resolves() -> None:
    doc = yaml.safe_load(OPENAPI.read_text())
    refs = re.findall(r"\$ref: \"#/([^\"]+)\"", OPENAPI.read_text())
    assert refs
    for ref in refs:
        node = doc
        for part in ref.split("/"):
            node = node[part]


def test_the_admin_schema_documents_every_rule_and_choice() -> None:
    from crmsync.services.admin_config import AdminConfig, ConnectMode, EmailMatch

    schema = yaml.safe_load(OPENAPI.read_text())["components"]["schemas"]["AdminConfig"]
    assert set(schema["properties"]) == set(AdminConfig.model_fields)
    assert schema["properties"]["email_match"]["enum"] == [m.value for m in EmailMatch]
    assert schema["properties"]["connect"]["properties"]["mode"]["enum"] == [m.value for m in ConnectMode]
