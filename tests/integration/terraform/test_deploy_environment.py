"""Each function starts with exactly the environment terraform/ gives it (issue 11 §5).

The plain variables come from ``local.function_env`` and the secret variables from the secrets
each function is a reader of, both read from the HCL; secret values are made the way
docs/deploy.md step 4 makes them (its own commands are run). Google Cloud is drongo's in-process
fake, so the functions build their real clients and nothing leaves the machine.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest
from drongo import mock_gcp
from google.cloud import secretmanager
from werkzeug.test import EnvironBuilder

from tests.integration.terraform.tfmodel import REPO, Model, expr, load

pytestmark = pytest.mark.integration
FUNCTIONS = REPO / "functions"
DEPLOY_DOC = REPO / "docs" / "deploy.md"

# Values for the Terraform variables the environment refers to (the name is not the default, so
# a secret name fixed in code instead of following the deployment is caught).
VARIABLES = {
    "name": "acme-sync",
    "project_id": "acme-prod",
    "region": "europe-west1",
    "crm_base_url": "https://crm.acme.example/api",
    "oauth_client_id": "1234-abc.apps.googleusercontent.com",
    "log_level": "INFO",
}
# What Terraform computes for the other expressions of local.function_env.
COMPUTED = {
    "local.web_base_url": "https://acme-sync-web-123456.europe-west1.run.app",
    'local.function_urls["fanout"]': "https://acme-sync-fanout-123456.europe-west1.run.app",
    'local.function_urls["worker"]': "https://acme-sync-worker-123456.europe-west1.run.app",
    'google_service_account.sa["scheduler"].email': "acme-sync-scheduler@acme-prod.iam.gserviceaccount.com",
    'google_service_account.sa["tasks"].email': "acme-sync-tasks@acme-prod.iam.gserviceaccount.com",
    "local.secret_prefix": "acme-sync-token-",
    'local.envelope_secrets["data-key"].id': "acme-sync-data-key",
    'join(",", local.queue_names)': "acme-sync-sync-0,acme-sync-sync-1",
    'var.calendar_push ? "on" : "off"': "on",  # the default (true)
    "tostring(var.push_debounce_seconds)": "5",
}
# Secrets the operator types in (docs step 4 reads them with `read -s`); the others the doc makes.
TYPED_SECRETS = {"oauth-client-secret": "GOCSPX-operator-typed-secret", "crm-api-key": "crm-key-from-the-crm"}


@pytest.fixture(scope="module")
def tf() -> Model:
    return load()


def resolve(value: Any, vault: str) -> str:
    """One value of local.function_env as Terraform would compute it for the sample variables."""
    text = str(value)
    if "${" not in text:
        return text
    inner = expr(text)
    if inner == "var.vault":
        return vault
    if inner.startswith("var.") and inner[4:] in VARIABLES:
        return VARIABLES[inner[4:]]
    if inner in COMPUTED:
        return COMPUTED[inner]
    if re.fullmatch(r"[^$]*\$\{var\.name\}[^$]*", text):
        return text.replace("${var.name}", VARIABLES["name"])
    raise AssertionError(f"add a sample value for the Terraform expression {text!r} to this test")


def documented_secret_values() -> dict[str, str]:
    """Secret id suffix -> a value made by the command docs/deploy.md step 4 gives for it."""
    values = dict(TYPED_SECRETS)
    for suffix, code in re.findall(r"put ([a-z-]+)\s+\"\$\(python3 -c '([^']+)'\)\"", DEPLOY_DOC.read_text()):
        made = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=30)
        values[suffix] = made.stdout.rstrip("\n")
    return values


def secret_variables(tf: Model, function: str) -> dict[str, str]:
    """The secret environment variables Terraform gives a function, with documented values."""
    specs = dict(tf.locals["config_secrets"])
    values = documented_secret_values()
    out = {}
    for env, spec in specs.items():
        if function in spec["readers"]:
            suffix = str(spec["id"]).replace("${var.name}-", "")
            assert suffix in values, f"docs/deploy.md step 4 does not say how to set the secret {spec['id']}"
            out[env] = values[suffix]
    return out


def deploy_environment(tf: Model, function: str, vault: str) -> dict[str, str]:
    plain = {env: resolve(value, vault) for env, value in tf.locals["function_env"].items()}
    return {**plain, **secret_variables(tf, function)}


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No CRMSYNC_* variable of the test machine leaks into the function."""
    for key in list(os.environ):
        if key.startswith(("CRMSYNC_", "FIRESTORE_EMULATOR", "CLOUD_TASKS_EMULATOR")):
            monkeypatch.delenv(key)
    import logging

    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers = handlers  # the functions configure logging: put it back
    root.setLevel(level)


def load_main() -> ModuleType:
    """functions/main.py as the Cloud Functions runtime loads it (fresh: no instance cached)."""
    for name in ("main", "private"):
        sys.modules.pop(name, None)
    sys.path.insert(0, str(FUNCTIONS))
    try:
        spec = importlib.util.spec_from_file_location("main", FUNCTIONS / "main.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules["main"] = module
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(FUNCTIONS))


def call(module: ModuleType, function: str, **request: Any) -> tuple[int, Any]:
    """Call one entry point with a werkzeug request; (status, response)."""
    resp = getattr(module, function)(EnvironBuilder(**request).get_request())
    if isinstance(resp, tuple):
        return resp[1], resp
    return resp.status_code, resp


def add_data_key(project: str, secret_id: str, value: str) -> None:
    """The operator's step 4 for the envelope vault: the data-key secret with one version."""
    client = secretmanager.SecretManagerServiceClient()
    parent = f"projects/{project}"
    client.create_secret(
        request={"parent": parent, "secret_id": secret_id, "secret": {"replication": {"automatic": {}}}}
    )
    client.add_secret_version(request={"parent": f"{parent}/secrets/{secret_id}", "payload": {"data": value.encode()}})


@pytest.mark.parametrize("vault", ["secret_manager", "envelope"])
@pytest.mark.parametrize("function", ["web", "fanout", "worker"])
def test_each_function_starts_with_exactly_the_terraform_environment(
    tf: Model, function: str, vault: str, clean_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = deploy_environment(tf, function, vault)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with mock_gcp():
        module = load_main()
        if function == "web":
            status, _ = call(module, "web", path="/healthz")
            assert status == 200
            status, page = call(module, "web", path="/connect", query_string={"t": "not-a-link"})
            assert status == 403, page.get_data(as_text=True)
            # The CRM's change notifications are on (the webhook secret reached the function): an
            # unsigned call is refused as not authentic, not as a route switched off (404).
            status, resp = call(module, "web", method="POST", path="/crm/changes", json={"id": "e1"})
            assert status == 401, resp.get_data(as_text=True)
        else:
            # Built from the environment; the caller check (Google OIDC) answers before any work.
            status, resp = call(module, function, method="POST", json={"connection_id": "c_0"})
            assert status == 401, resp


@pytest.mark.parametrize("function", ["web", "worker"])
def test_the_envelope_vault_stores_a_token_with_the_documented_data_key(
    tf: Model, function: str, clean_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = deploy_environment(tf, function, "envelope")
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    data_key = documented_secret_values()["data-key"]
    with mock_gcp():
        add_data_key(VARIABLES["project_id"], f"{VARIABLES['name']}-data-key", data_key)
        module = load_main()
        if function == "web":
            call(module, "web", path="/healthz")
            vault = module._web_app.app.vault
        else:
            vault = sys.modules["private"].build_worker().deps.vault
        vault.put("c_0123456789abcdef0123456789abcdef", "1//refresh-token-from-google")
        assert vault.get("c_0123456789abcdef0123456789abcdef") == "1//refresh-token-from-google"


def test_every_variable_terraform_gives_is_read_by_the_code(tf: Model) -> None:
    """No variable the code never reads (the data key used to be injected as one)."""
    code = "\n".join(p.read_text() for p in [*(REPO / "shared").rglob("*.py"), *FUNCTIONS.glob("*.py")])
    names = [*tf.locals["function_env"], *tf.locals["config_secrets"]]
    unread = [n for n in names if f'"{n}"' not in code and n != "LOG_EXECUTION_ID"]  # the runtime reads that one
    assert not unread, f"terraform/ sets variables no code reads: {unread}"


def test_the_guide_names_exactly_the_scopes_the_code_requests() -> None:
    from crmsync.model.kinds import Kind
    from crmsync.services.run_sync import GRANT_SCOPES
    from crmsync.services.scopes import KIND_SCOPES, scopes_for

    requested = set(scopes_for(list(Kind)))
    documented = set(re.findall(r"`(https://www\.googleapis\.com/auth/[a-z.]+|openid)`", DEPLOY_DOC.read_text()))
    assert documented == requested
    assert GRANT_SCOPES == KIND_SCOPES
