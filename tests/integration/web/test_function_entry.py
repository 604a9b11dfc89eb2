"""functions/main.py's `web` target served by functions-framework, configured only by environment variables."""

from __future__ import annotations

import io
import logging
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[3]


def test_web_target_serves_through_functions_framework(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    import functions_framework

    env = {
        "CRMSYNC_BASE_URL": "http://localhost:8080",
        "CRMSYNC_OAUTH_CLIENT_ID": "cid.apps.googleusercontent.com",
        "CRMSYNC_OAUTH_CLIENT_SECRET": "entry-client-secret",
        "CRMSYNC_LINK_SIGNING_KEY": "e" * 40,
        "CRMSYNC_SESSION_KEY": "g" * 40,
        "CRMSYNC_ADMIN_API_KEY": "f" * 40,
        "CRMSYNC_CRM_BASE_URL": "http://127.0.0.1:9",
        "CRMSYNC_CRM_API_KEY": "entry-crm-key",
        "CRMSYNC_STORE": "memory",
        "CRMSYNC_VAULT": "local_file",
        "CRMSYNC_LOCAL_VAULT_PATH": str(tmp_path / "vault.json"),
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    request.addfinalizer(
        lambda: (setattr(root, "handlers", handlers), root.setLevel(level))
    )  # the app configures logging
    app = functions_framework.create_app(target="web", source=str(ROOT / "functions" / "main.py"))
    client = app.test_client()
    assert client.get("/healthz").get_json() == {"status": "ok"}
    admin = client.get("/admin/config", headers={"Authorization": "Bearer " + "f" * 40})
    assert admin.status_code == 200
    assert admin.get_json()["sync_enabled"] is True
    page = client.get("/connect?t=forged", headers={"Accept": "text/html"})
    assert page.status_code == 403
    assert b"This link is not valid" in page.data
    # Oversized and hostile bodies are 4xx through functions-framework too (it drains the body
    # after the response: a limit set on the request would turn the 413 into a 500).
    admin_key = {"Authorization": "Bearer " + "f" * 40}
    big = client.put("/admin/config", headers=admin_key, data="x" * 200_000, content_type="application/json")
    assert big.status_code == 413
    deep = client.put("/admin/config", headers=admin_key, data="[" * 9000 + "]" * 9000, content_type="application/json")
    assert deep.status_code == 422
    chunked = client.put(
        "/admin/config",
        headers={**admin_key, "Transfer-Encoding": "chunked"},
        input_stream=io.BytesIO(b"[" * 200_000),
        content_type="application/json",
        environ_overrides={"wsgi.input_terminated": True},
    )
    assert chunked.status_code == 413
    assert client.get("/oauth/callback?state=a/b&code=x").status_code == 400
