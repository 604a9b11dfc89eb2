"""schemathesis against every documented entry point, over real HTTP: the web function's OpenAPI
document (user and admin API) and the private functions' (fanout, worker). Valid and invalid
requests alike must never get a 5xx, and every answer must match the document (issue 11 §3)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from werkzeug.serving import make_server

from crmsync.model.kinds import Kind
from crmsync.web.api import OPENAPI
from crmsync.web.app import WebApp
from tests.unit.services.appfakes import ADMIN_KEY, CRM_KEY, make_app, seed_connection

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[3]
PRIVATE_OPENAPI = ROOT / "functions" / "openapi-private.yaml"
SECRET = "schemathesis-internal-secret-0123456789"
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def _serve(wsgi: Any) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, wsgi, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="schemathesis-target", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def web_url() -> Iterator[str]:
    """The web app on fakes (Google's OAuth endpoints answered in-process) with two connected users."""
    app, _google, _clock = make_app()
    app.config = replace(app.config, crm_webhook_secret=b"schemathesis-webhook-secret-" + b"w" * 20)  # type: ignore[misc]
    seed_connection(app, "u1", kinds=tuple(Kind))
    seed_connection(app, "u2", kinds=(Kind.CONTACTS,))
    yield from _serve(WebApp(app))


@pytest.fixture(scope="module")
def private_urls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """fanout and worker as functions-framework serves them, configured by environment only (local mode)."""
    import functions_framework

    env = {
        "CRMSYNC_BASE_URL": "http://localhost:8080",
        "CRMSYNC_OAUTH_CLIENT_ID": "cid.apps.googleusercontent.com",
        "CRMSYNC_OAUTH_CLIENT_SECRET": "schemathesis-client-secret",
        "CRMSYNC_CRM_BASE_URL": "http://127.0.0.1:9",
        "CRMSYNC_CRM_API_KEY": "schemathesis-crm-key",
        "CRMSYNC_STORE": "memory",
        "CRMSYNC_VAULT": "local_file",
        "CRMSYNC_LOCAL_VAULT_PATH": str(tmp_path_factory.mktemp("vault") / "vault.json"),
        "CRMSYNC_INTERNAL_SECRET": SECRET,
    }
    with pytest.MonkeyPatch.context() as mp:
        for key, value in env.items():
            mp.setenv(key, value)
        root = logging.getLogger()
        handlers, level = list(root.handlers), root.level
        source = str(ROOT / "functions" / "private.py")
        apps = {target: functions_framework.create_app(target=target, source=source) for target in ("fanout", "worker")}
        servers = {target: _serve(app) for target, app in apps.items()}
        urls = {target: next(gen) for target, gen in servers.items()}
        try:
            yield urls
        finally:
            for gen in servers.values():
                next(gen, None)
            root.handlers = handlers
            root.setLevel(level)


web_schema = schemathesis.openapi.from_path(OPENAPI)
private_schema = schemathesis.openapi.from_path(PRIVATE_OPENAPI)


@web_schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_web_api_never_answers_5xx(case: schemathesis.Case, web_url: str) -> None:
    if case.path.startswith("/admin"):
        headers = {"Authorization": f"Bearer {ADMIN_KEY}"}
    else:
        headers = {"Authorization": f"Bearer {CRM_KEY}", "X-CRM-User": "u1"}
    case.call_and_validate(base_url=web_url, headers=headers, checks=CHECKS)


@private_schema.parametrize()
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_private_functions_never_answer_5xx(case: schemathesis.Case, private_urls: dict[str, str]) -> None:
    target = case.path.strip("/")
    case.call_and_validate(base_url=private_urls[target], headers={"X-CrmSync-Internal": SECRET}, checks=CHECKS)
