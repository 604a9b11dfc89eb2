resource "google_cloud_scheduler_job" "fanout" {
  count = var.deploy_functions ? 1 : 0

  project          = var.project_id
  region           = var.region
  name             = "${var.name}-fanout"
  description      = "Ticks ${var.name} fan-out, which enqueues one sync task per due connection."
  schedule         = var.fanout_schedule
  time_zone        = "Etc/UTC"
  attempt_deadline = "${var.functions.fanout.timeout_seconds + 30}s"

  # A missed tick is covered by the next one; retrying would only overlap with it.
  retry_config {
    retry_count = 0
  }

  http_target {
    http_method = "POST"
    uri         = local.function_urls["fanout"]

    oidc_token {
      service_account_email = google_service_account.sa["scheduler"].email
      audience              = local.function_urls["fanout"]
    }
  }

  depends_on = [google_cloud_run_v2_service_iam_member.private_invoker]
}
