locals {
  queue_names = [for i in range(var.queue_shards) : "${var.name}-sync-${i}"]

  # The variable holds totals over all shards; each queue gets an equal share.
  queue_dispatches_per_second = var.queue.total_dispatches_per_second / var.queue_shards
  queue_concurrent_dispatches = max(1, floor(var.queue.total_concurrent_dispatches / var.queue_shards))

  queue_enqueuers = {
    for pair in setproduct(local.queue_names, tolist(local.task_creators)) :
    "${pair[0]}/${pair[1]}" => { queue = pair[0], account = pair[1] }
  }
}

resource "google_cloud_tasks_queue" "sync" {
  for_each = toset(local.queue_names)

  project  = var.project_id
  location = var.region
  name     = each.value

  rate_limits {
    max_dispatches_per_second = local.queue_dispatches_per_second
    max_concurrent_dispatches = local.queue_concurrent_dispatches
  }

  retry_config {
    max_attempts       = var.queue.max_attempts
    max_retry_duration = var.queue.max_retry_duration
    min_backoff        = var.queue.min_backoff
    max_backoff        = var.queue.max_backoff
    max_doublings      = var.queue.max_doublings
  }

  stackdriver_logging_config {
    sampling_ratio = var.queue.log_sampling_ratio
  }

  lifecycle {
    precondition {
      condition     = local.queue_dispatches_per_second <= 500
      error_message = "A Cloud Tasks queue dispatches at most 500 tasks/s: raise queue_shards to at least ${ceil(var.queue.total_dispatches_per_second / 500)}."
    }
    precondition {
      condition     = local.queue_concurrent_dispatches <= 5000
      error_message = "A Cloud Tasks queue allows at most 5000 concurrent dispatches: raise queue_shards or lower queue.total_concurrent_dispatches."
    }
  }

  depends_on = [google_project_service.apis]
}

resource "google_cloud_tasks_queue_iam_member" "enqueuer" {
  for_each = local.queue_enqueuers

  project  = var.project_id
  location = var.region
  name     = google_cloud_tasks_queue.sync[each.value.queue].name
  role     = "roles/cloudtasks.enqueuer"
  member   = google_service_account.sa[each.value.account].member
}

# Warnings (not errors) when the queue can outrun the project's Google API quotas.
check "queue_rate_within_google_quotas" {
  assert {
    condition     = var.queue.total_dispatches_per_second * 60 * var.google_api_quotas.calendar_requests_per_run <= var.google_api_quotas.calendar_requests_per_minute
    error_message = "The queues may start ${var.queue.total_dispatches_per_second * 60} runs/min, above the Calendar API quota of ${var.google_api_quotas.calendar_requests_per_minute} requests/min: lower queue.total_dispatches_per_second or raise the quota."
  }
  assert {
    condition     = var.queue.total_dispatches_per_second * 60 * var.google_api_quotas.secret_accesses_per_run <= var.google_api_quotas.secret_accesses_per_minute
    error_message = "The queues may start more runs/min than Secret Manager allows accesses/min (${var.google_api_quotas.secret_accesses_per_minute}): lower queue.total_dispatches_per_second or raise the quota."
  }
}
