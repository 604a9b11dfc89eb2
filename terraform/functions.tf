locals {
  functions = {
    web = {
      entry_point = "web"
      ingress     = "ALLOW_ALL"
      sizing      = var.functions.web
      description = "Connect link, OAuth callback, settings page and API, admin API, Calendar push notifications (public)."
    }
    fanout = {
      entry_point = "fanout"
      ingress     = var.private_ingress
      sizing      = var.functions.fanout
      description = "Enqueues one sync task per due connection (private: Cloud Scheduler only)."
    }
    worker = {
      entry_point = "worker"
      ingress     = var.private_ingress
      sizing      = var.functions.worker
      description = "Syncs one connection (private: Cloud Tasks only)."
    }
  }

  # Secret env vars per function: only the configuration secrets that function reads
  # (crmsync.config.NEEDS; tests/integration/terraform/test_deploy_environment.py builds each
  # function from exactly these).
  function_secrets = {
    for key in keys(local.functions) : key => {
      for env, s in local.config_secrets : env => s.id if contains(s.readers, key)
    }
  }

  function_env = {
    CRMSYNC_PROJECT                   = var.project_id
    CRMSYNC_REGION                    = var.region
    CRMSYNC_BASE_URL                  = local.web_base_url
    CRMSYNC_CRM_BASE_URL              = var.crm_base_url
    CRMSYNC_OAUTH_CLIENT_ID           = var.oauth_client_id
    CRMSYNC_TASKS_QUEUES              = join(",", local.queue_names)
    CRMSYNC_WORKER_URL                = local.function_urls["worker"]
    CRMSYNC_TASKS_SERVICE_ACCOUNT     = google_service_account.sa["tasks"].email
    CRMSYNC_SCHEDULER_SERVICE_ACCOUNT = google_service_account.sa["scheduler"].email
    CRMSYNC_FANOUT_AUDIENCE           = local.function_urls["fanout"]
    CRMSYNC_WORKER_AUDIENCE           = local.function_urls["worker"]
    CRMSYNC_SECRET_PREFIX             = local.secret_prefix
    CRMSYNC_DATA_KEY_SECRET           = local.envelope_secrets["data-key"].id
    CRMSYNC_VAULT                     = var.vault
    CRMSYNC_LOG_LEVEL                 = var.log_level
    CRMSYNC_CALENDAR_PUSH             = var.calendar_push ? "on" : "off"
    CRMSYNC_PUSH_DEBOUNCE_SECONDS     = tostring(var.push_debounce_seconds)
    LOG_EXECUTION_ID                  = "true"
  }

  # The private functions and the only account allowed to call each.
  private_invokers = {
    fanout = "scheduler"
    worker = "tasks"
  }
}

resource "google_cloudfunctions2_function" "fn" {
  # checkov:skip=CKV_GCP_124:Only the web instance has ALLOW_ALL ingress: it serves end users' browsers and the CRM from the internet. fanout and worker use var.private_ingress (default ALLOW_INTERNAL_ONLY), which the structural tests check.
  for_each = var.deploy_functions ? local.functions : {}

  project     = var.project_id
  location    = var.region
  name        = "${var.name}-${each.key}"
  description = each.value.description

  build_config {
    runtime           = "python312"
    entry_point       = each.value.entry_point
    service_account   = google_service_account.sa["build"].id
    docker_repository = google_artifact_registry_repository.functions.id

    source {
      storage_source {
        bucket = google_storage_bucket.sources.name
        object = google_storage_bucket_object.source[0].name
      }
    }
  }

  service_config {
    service_account_email            = google_service_account.sa[each.key].email
    available_memory                 = each.value.sizing.memory
    available_cpu                    = each.value.sizing.cpu
    timeout_seconds                  = each.value.sizing.timeout_seconds
    max_instance_request_concurrency = each.value.sizing.concurrency
    min_instance_count               = each.value.sizing.min_instances
    max_instance_count               = each.value.sizing.max_instances
    ingress_settings                 = each.value.ingress
    all_traffic_on_latest_revision   = true
    environment_variables            = local.function_env

    dynamic "secret_environment_variables" {
      for_each = local.function_secrets[each.key]
      content {
        key        = secret_environment_variables.key
        project_id = var.project_id
        secret     = google_secret_manager_secret.config[secret_environment_variables.key].secret_id
        version    = "latest"
      }
    }
  }

  lifecycle {
    precondition {
      condition     = var.oauth_client_id != ""
      error_message = "Set oauth_client_id (the OAuth web client's id) before deploying the functions; see docs/deploy.md."
    }
  }

  depends_on = [
    google_project_iam_member.sa,
    google_secret_manager_secret_iam_member.reader,
    google_storage_bucket_iam_member.build_reads_sources,
    google_artifact_registry_repository_iam_member.build_writes_images,
  ]
}

resource "google_cloud_run_v2_service_iam_member" "web_public" {
  # The web function is the public entry point (connect link, OAuth callback, settings page, and
  # POST /push/calendar, which Google Calendar calls from the internet); it authenticates every
  # request itself with signed links, sessions, API keys and, for push, each channel's own token.
  count = var.deploy_functions ? 1 : 0

  project  = var.project_id
  location = var.region
  name     = google_cloudfunctions2_function.fn["web"].service_config[0].service
  role     = "roles/run.invoker"
  member   = "allUsers"
}

resource "google_cloud_run_v2_service_iam_member" "private_invoker" {
  for_each = var.deploy_functions ? local.private_invokers : {}

  project  = var.project_id
  location = var.region
  name     = google_cloudfunctions2_function.fn[each.key].service_config[0].service
  role     = "roles/run.invoker"
  member   = google_service_account.sa[each.value].member
}
