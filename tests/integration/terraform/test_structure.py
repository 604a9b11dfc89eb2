"""Structural checks on terraform/*.tf, parsed with python-hcl2 (no provider, no network)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from crmsync.store import queries
from tests.integration.terraform.tfmodel import TERRAFORM, Model, expr, first, load, unquote

pytestmark = pytest.mark.integration

FUNCTIONS = {"web", "fanout", "worker"}
PRIVATE_CALLERS = {"fanout": "scheduler", "worker": "tasks"}
ENV_NAMES = {
    "CRMSYNC_PROJECT",
    "CRMSYNC_REGION",
    "CRMSYNC_BASE_URL",
    "CRMSYNC_CRM_BASE_URL",
    "CRMSYNC_OAUTH_CLIENT_ID",
    "CRMSYNC_TASKS_QUEUES",
    "CRMSYNC_WORKER_URL",
    "CRMSYNC_TASKS_SERVICE_ACCOUNT",
    "CRMSYNC_FANOUT_AUDIENCE",
    "CRMSYNC_WORKER_AUDIENCE",
    "CRMSYNC_SECRET_PREFIX",
    "CRMSYNC_VAULT",
    "CRMSYNC_LOG_LEVEL",
}
SECRET_ENV_NAMES = {
    "CRMSYNC_LINK_SIGNING_KEY",
    "CRMSYNC_SESSION_KEY",
    "CRMSYNC_OAUTH_CLIENT_SECRET",
    "CRMSYNC_CRM_API_KEY",
    "CRMSYNC_ADMIN_API_KEY",
    "CRMSYNC_CRM_WEBHOOK_SECRET",
}


@pytest.fixture(scope="module")
def tf() -> Model:
    return load()


def literal_map(value: Any) -> dict[str, Any]:
    assert isinstance(value, dict), f"expected a literal map in the HCL, got {value!r}"
    return value


def test_every_function_runs_as_its_own_service_account(tf: Model) -> None:
    fn = tf.resources["google_cloudfunctions2_function.fn"]
    assert expr(fn["for_each"]) == "var.deploy_functions ? local.functions : {}"
    assert set(literal_map(tf.locals["functions"])) == FUNCTIONS
    service = first(fn["service_config"])
    # each.key is unique per instance, so no two functions share an account.
    assert expr(service["service_account_email"]) == "google_service_account.sa[each.key].email"
    accounts = literal_map(tf.locals["service_accounts"])
    assert FUNCTIONS | {"scheduler", "tasks"} <= set(accounts)
    sa = tf.resources["google_service_account.sa"]
    assert expr(sa["for_each"]) == "local.service_accounts"
    assert unquote(sa["account_id"]) == "${var.name}-${each.key}"
    # The builds run as their own account too, not as the default compute account.
    assert expr(first(fn["build_config"])["service_account"]) == 'google_service_account.sa["build"].id'


def test_entry_points_and_runtime(tf: Model) -> None:
    functions = literal_map(tf.locals["functions"])
    for key, spec in functions.items():
        assert spec["entry_point"] == key
        assert expr(spec["sizing"]) == f"var.functions.{key}", "sizing must come from the typed variable"
    build = first(tf.resources["google_cloudfunctions2_function.fn"]["build_config"])
    assert build["runtime"] == "python312"
    assert expr(build["entry_point"]) == "each.value.entry_point"


def test_private_functions_are_invoked_only_by_their_caller_accounts(tf: Model) -> None:
    invokers = tf.of_type("google_cloud_run_v2_service_iam_member")
    assert set(invokers) == {"web_public", "private_invoker"}, "unexpected invoker grants"
    public = invokers["web_public"]
    assert public["member"] == "allUsers"
    assert expr(public["name"]) == 'google_cloudfunctions2_function.fn["web"].service_config[0].service'
    private = invokers["private_invoker"]
    assert literal_map(tf.locals["private_invokers"]) == PRIVATE_CALLERS
    assert expr(private["for_each"]) == "var.deploy_functions ? local.private_invokers : {}"
    assert expr(private["name"]) == "google_cloudfunctions2_function.fn[each.key].service_config[0].service"
    assert expr(private["member"]) == "google_service_account.sa[each.value].member"
    for body in (public, private):
        assert body["role"] == "roles/run.invoker"
    # No invoker role granted any other way (project-level, functions IAM, bindings).
    for key, body in tf.resources.items():
        role = str(body.get("role", ""))
        if key not in (
            "google_cloud_run_v2_service_iam_member.web_public",
            "google_cloud_run_v2_service_iam_member.private_invoker",
        ):
            assert "invoker" not in role, f"{key} grants {role}"
        for authoritative in ("function_iam", "iam_binding", "iam_policy"):
            assert authoritative not in key, key


def test_private_functions_keep_internal_ingress(tf: Model) -> None:
    functions = literal_map(tf.locals["functions"])
    assert functions["web"]["ingress"] == "ALLOW_ALL"
    for key in PRIVATE_CALLERS:
        assert expr(functions[key]["ingress"]) == "var.private_ingress"
    assert tf.variables["private_ingress"]["default"] == "ALLOW_INTERNAL_ONLY"


def test_scheduler_calls_fanout_with_oidc_audience_of_the_fanout_url(tf: Model) -> None:
    job = tf.resources["google_cloud_scheduler_job.fanout"]
    target = first(job["http_target"])
    token = first(target["oidc_token"])
    fanout_url = 'local.function_urls["fanout"]'
    assert expr(target["uri"]) == fanout_url
    assert expr(token["audience"]) == fanout_url
    assert expr(token["service_account_email"]) == 'google_service_account.sa["scheduler"].email'
    env = literal_map(tf.locals["function_env"])
    # The function checks the same audience the scheduler puts in the token.
    assert expr(env["CRMSYNC_FANOUT_AUDIENCE"]) == fanout_url
    assert expr(env["CRMSYNC_WORKER_AUDIENCE"]) == expr(env["CRMSYNC_WORKER_URL"]) == 'local.function_urls["worker"]'
    assert expr(env["CRMSYNC_TASKS_SERVICE_ACCOUNT"]) == 'google_service_account.sa["tasks"].email'
    # The URL formula must be the Cloud Run service URL of "${var.name}-<key>", the function's name.
    urls = expr(tf.locals["function_urls"])
    assert "https://${var.name}-${key}-${local.project_number}.${var.region}.run.app" in urls
    assert unquote(tf.resources["google_cloudfunctions2_function.fn"]["name"]) == "${var.name}-${each.key}"


def test_queues_have_retry_and_rate_limits(tf: Model) -> None:
    queue = tf.resources["google_cloud_tasks_queue.sync"]
    assert expr(queue["for_each"]) == "toset(local.queue_names)"
    assert expr(tf.locals["queue_names"]) == '[for i in range(var.queue_shards) : "${var.name}-sync-${i}"]'
    rate = first(queue["rate_limits"])
    assert {"max_dispatches_per_second", "max_concurrent_dispatches"} <= set(rate)
    retry = first(queue["retry_config"])
    assert set(retry) == {"max_attempts", "max_retry_duration", "min_backoff", "max_backoff", "max_doublings"}
    for name, value in retry.items():
        assert expr(value) == f"var.queue.{name}"
    conditions = [p["condition"] for p in first(queue["lifecycle"])["precondition"]]
    assert any("<= 500" in str(c) for c in conditions), "the 500 tasks/s per-queue cap must be enforced"


def test_default_queue_rate_fits_google_quotas(tf: Model) -> None:
    queue_type = str(tf.variables["queue"]["type"])
    quota_type = str(tf.variables["google_api_quotas"]["type"])

    def default(type_expr: str, name: str) -> float:
        match = re.search(rf"{name} = optional\(number, ([0-9.]+)\)", type_expr)
        assert match, f"{name} needs a numeric default"
        return float(match.group(1))

    rate = default(queue_type, "total_dispatches_per_second")
    shards = float(tf.variables["queue_shards"]["default"])
    assert rate / shards <= 500
    calendar_per_minute = default(quota_type, "calendar_requests_per_minute")
    assert calendar_per_minute == 10000, "Google's default Calendar quota is 10,000 requests/min/project"
    assert rate * 60 * default(quota_type, "calendar_requests_per_run") <= calendar_per_minute
    assert default(queue_type, "max_attempts") >= 1
    assert 'check "queue_rate_within_google_quotas"' in tf.files["tasks.tf"]


def expected_indexes() -> dict[str, dict[str, Any]]:
    """The composite indexes the declared queries need, in the shape of local.firestore_composite_indexes."""
    wanted = {}
    for query in queries.QUERIES:
        if not query.needs_composite_index:
            continue
        fields = [{"field_path": f, "order": "ASCENDING"} for f in query.equality]
        fields += [{"field_path": f.path, "order": f.order} for f in query.ordered]
        wanted[query.name] = {"collection": query.collection, "query_scope": query.scope, "fields": fields}
    return wanted


def render_indexes(indexes: dict[str, dict[str, Any]]) -> str:
    lines = ["  firestore_composite_indexes = {"]
    for name, index in sorted(indexes.items()):
        lines += [f"    {name} = {{", f'      collection  = "{index["collection"]}"']
        lines += [f'      query_scope = "{index["query_scope"]}"', "      fields = ["]
        lines += [f'        {{ field_path = "{f["field_path"]}", order = "{f["order"]}" }},' for f in index["fields"]]
        lines += ["      ]", "    }"]
    return "\n".join([*lines, "  }"])


def test_firestore_indexes_cover_the_declared_queries(tf: Model) -> None:
    wanted = expected_indexes()
    assert wanted, "queries.py declares no query needing a composite index: is the import right?"
    declared = literal_map(tf.locals["firestore_composite_indexes"])
    assert declared == wanted, (
        "terraform/firestore.tf drifted from shared/crmsync/store/queries.py; replace the local with:\n"
        + render_indexes(wanted)
    )
    index = tf.resources["google_firestore_index.composite"]
    assert expr(index["for_each"]) == "local.firestore_composite_indexes"
    assert expr(index["collection"]) == "each.value.collection"
    assert expr(index["query_scope"]) == "each.value.query_scope"
    dynamic = first(index["dynamic"])["fields"]
    assert expr(dynamic["for_each"]) == "each.value.fields"
    content = first(dynamic["content"])
    assert expr(content["field_path"]) == "fields.value.field_path"
    assert expr(content["order"]) == "fields.value.order"


def test_firestore_ttl_policies_match_the_declared_ttl_fields(tf: Model) -> None:
    assert literal_map(tf.locals["firestore_ttl_fields"]) == queries.TTL_FIELDS
    ttl = tf.resources["google_firestore_field.ttl"]
    assert expr(ttl["for_each"]) == "local.firestore_ttl_fields"
    assert expr(ttl["collection"]) == "each.key"
    assert expr(ttl["field"]) == "each.value"
    assert ttl["ttl_config"] == [{}]
    db = tf.resources["google_firestore_database.main"]
    assert db["type"] == "FIRESTORE_NATIVE"
    assert db["name"] == "(default)"


def test_no_basic_or_admin_roles_at_project_level(tf: Model) -> None:
    for key, body in tf.resources.items():
        role = str(body.get("role", ""))
        assert role not in ("roles/owner", "roles/editor", "roles/viewer"), f"{key} grants the basic role {role}"
        if key.startswith("google_project_iam_member."):
            assert not re.search(r"admin|serviceAccountUser|serviceAccountTokenCreator", role, re.I), (
                f"{key} grants {role} on the whole project"
            )
    project_roles = literal_map(tf.locals["project_roles"])
    assert {v["role"] for v in project_roles.values()} == {"roles/datastore.user", "roles/logging.logWriter"}
    granted = {v["account"] for v in project_roles.values()}
    assert not granted & {"scheduler", "tasks"}, "the invoker accounts need no project role"
    # actAs on the tasks account only, held by the two task creators.
    act_as = tf.resources["google_service_account_iam_member.task_creator_act_as"]
    assert expr(act_as["service_account_id"]) == 'google_service_account.sa["tasks"].name'
    assert expr(tf.locals["task_creators"]) == 'toset(["web", "fanout"])'


def test_secret_access_is_scoped_to_this_deployment(tf: Model) -> None:
    config = literal_map(tf.locals["config_secrets"])
    assert set(config) == SECRET_ENV_NAMES
    for env, spec in {**config, **literal_map(tf.locals["envelope_secrets"])}.items():
        assert unquote(spec["id"]).startswith("${var.name}-"), f"{env} secret id must carry the deployment name"
        assert "fanout" not in spec["readers"], "fan-out needs no secret"
    reader = tf.resources["google_secret_manager_secret_iam_member.reader"]
    assert reader["role"] == "roles/secretmanager.secretAccessor"
    assert "secret_id" in reader, "secret access must be granted per secret, not on the project"
    assert unquote(tf.locals["secret_prefix"]) == "${var.name}-token-"
    condition = expr(tf.locals["token_secret_condition"])
    assert (
        unquote(condition)
        == r"resource.name.startsWith(\"projects/${local.project_number}/secrets/${local.secret_prefix}\")"
    )
    conditioned = tf.resources["google_project_iam_member.token_secrets"]
    assert expr(first(conditioned["condition"])["expression"]) == "local.token_secret_condition"
    # The only unconditioned token role is create-only.
    creator = tf.resources["google_project_iam_custom_role.token_creator"]
    assert creator["permissions"] == ["secretmanager.secrets.create"]
    fn_env = literal_map(tf.locals["function_env"])
    assert expr(fn_env["CRMSYNC_SECRET_PREFIX"]) == "local.secret_prefix"


def test_functions_get_the_documented_environment(tf: Model) -> None:
    env = literal_map(tf.locals["function_env"])
    missing = ENV_NAMES - set(env)
    assert not missing, f"env vars the functions read are not set: {sorted(missing)}"
    assert not set(env) & SECRET_ENV_NAMES, "secrets must be secret references, not plain env vars"
    secret_env = first(first(tf.resources["google_cloudfunctions2_function.fn"]["service_config"])["dynamic"])
    content = first(secret_env["secret_environment_variables"]["content"])
    assert content["version"] == "latest"


SECRET_PATTERNS = [
    r"-----BEGIN [A-Z ]*PRIVATE KEY-----",
    r"AIza[0-9A-Za-z_\-]{30,}",  # Google API key
    r"GOCSPX-[0-9A-Za-z_\-]{10,}",  # OAuth client secret
    r"ya29\.[0-9A-Za-z_\-]{20,}",  # access token
    r"1//[0-9A-Za-z_\-]{20,}",  # refresh token
]


def test_no_secret_values_in_hcl(tf: Model) -> None:
    assert not tf.of_type("google_secret_manager_secret_version"), "secret values must not pass through Terraform"
    texts = dict(tf.files)
    texts["terraform.tfvars.example"] = (TERRAFORM / "terraform.tfvars.example").read_text()
    for name, text in texts.items():
        for pattern in SECRET_PATTERNS:
            assert not re.search(pattern, text), f"{name} contains something shaped like a secret ({pattern})"
        assert "secret_data" not in text, f"{name} sets secret data"
    for name, body in tf.variables.items():
        if re.search(r"secret|password|api_key|signing|token", name):
            assert "default" not in body or body["default"] in (None, ""), f"variable {name} has a default value"


def test_source_object_is_content_hashed_and_used_by_every_function(tf: Model) -> None:
    obj = tf.resources["google_storage_bucket_object.source"]
    assert "${filesha256(local.source_zip)}" in unquote(obj["name"])
    assert expr(obj["source"]) == "local.source_zip"
    storage = first(
        first(first(tf.resources["google_cloudfunctions2_function.fn"]["build_config"])["source"])["storage_source"]
    )
    assert expr(storage["object"]) == "google_storage_bucket_object.source[0].name"
    bucket = tf.resources["google_storage_bucket.sources"]
    assert bucket["uniform_bucket_level_access"] is True
    assert bucket["public_access_prevention"] == "enforced"
    assert first(bucket["versioning"])["enabled"] is True
    assert "build/functions/crmsync.zip" in unquote(tf.locals["source_zip"])


def test_variables_are_typed_and_described(tf: Model) -> None:
    for name, body in tf.variables.items():
        assert body.get("type"), f"variable {name} has no type"
        assert len(str(body.get("description", ""))) >= 15, f"variable {name} needs a description"
    for name in ("functions", "queue", "firestore", "google_api_quotas"):
        assert str(tf.variables[name]["type"]).startswith("${object({"), f"{name} must be an object type"
        assert "optional(" in str(tf.variables[name]["type"])


def test_tfvars_example_sets_every_required_variable_and_nothing_unknown(tf: Model) -> None:
    text = (TERRAFORM / "terraform.tfvars.example").read_text()
    assigned = set(re.findall(r"^([a-z_]+)\s*=", text, re.MULTILINE))
    unknown = assigned - set(tf.variables)
    assert not unknown, f"terraform.tfvars.example sets undeclared variables: {sorted(unknown)}"
    required = {name for name, body in tf.variables.items() if "default" not in body}
    assert required <= assigned, f"terraform.tfvars.example misses required variables: {sorted(required - assigned)}"


def test_outputs(tf: Model) -> None:
    wanted = {
        "connect_url_base": "${local.web_base_url}/connect",
        "settings_url": "${local.web_base_url}/settings",
        "admin_api_url": "${local.web_base_url}/admin",
        "oauth_redirect_uri": "${local.web_base_url}/oauth/callback",
    }
    for name, value in wanted.items():
        assert unquote(tf.outputs[name]["value"]) == value
    assert {"queue_names", "service_accounts", "secret_ids", "function_urls"} <= set(tf.outputs)
    for name, body in tf.outputs.items():
        assert body.get("description"), f"output {name} needs a description"


def test_one_file_per_service_layout() -> None:
    names = {p.name for p in TERRAFORM.glob("*.tf")}
    assert {
        "versions.tf",
        "variables.tf",
        "outputs.tf",
        "firestore.tf",
        "secrets.tf",
        "tasks.tf",
        "functions.tf",
    } <= names
