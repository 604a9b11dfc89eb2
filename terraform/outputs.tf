output "connect_url_base" {
  description = "Base of the hosted connect link the CRM shows: append ?t=<signed link token>."
  value       = "${local.web_base_url}/connect"
}

output "settings_url" {
  description = "The settings page (and JSON API) of a connected user."
  value       = "${local.web_base_url}/settings"
}

output "admin_api_url" {
  description = "Base URL of the admin API (bearer: the admin API key secret)."
  value       = "${local.web_base_url}/admin"
}

output "oauth_redirect_uri" {
  description = "Authorised redirect URI to register in the Google OAuth client."
  value       = "${local.web_base_url}/oauth/callback"
}

output "push_notification_url" {
  description = "Where Google Calendar delivers push notifications (events.watch address; the worker opens the channels)."
  value       = "${local.web_base_url}/push/calendar"
}

output "function_urls" {
  description = "run.app URL of each function (fanout and worker answer only their invoker accounts)."
  value       = local.function_urls
}

output "queue_names" {
  description = "Cloud Tasks queues that carry the sync tasks."
  value       = [for q in google_cloud_tasks_queue.sync : q.name]
}

output "service_accounts" {
  description = "E-mail of each service account, by role (web, fanout, worker, scheduler, tasks, build)."
  value       = { for key, sa in google_service_account.sa : key => sa.email }
}

output "secret_ids" {
  description = "Secret Manager secrets whose values the operator adds (gcloud secrets versions add ID --data-file=-), by the env var that reads them (data-key: the envelope vault's data keys, read by id)."
  value       = { for env, s in google_secret_manager_secret.config : env => s.secret_id }
}

output "token_secret_prefix" {
  description = "Name prefix of the per-connection refresh-token secrets created at run time."
  value       = local.secret_prefix
}

output "source_object" {
  description = "The deployed source zip object (its name carries the zip's sha256)."
  value       = var.deploy_functions ? google_storage_bucket_object.source[0].name : null
}
