locals {
  project_number = data.google_project.this.number

  # Deterministic run.app URLs (https://SERVICE-PROJECT_NUMBER.REGION.run.app): known before the
  # functions exist, so each function can be told its own URL (the OIDC audience it checks)
  # without a dependency cycle.
  function_urls = {
    for key in ["web", "fanout", "worker"] :
    key => "https://${var.name}-${key}-${local.project_number}.${var.region}.run.app"
  }
  web_base_url = coalesce(var.public_base_url, local.function_urls["web"])

  secret_prefix = "${var.name}-token-"
  source_zip    = coalesce(var.source_zip, "${path.module}/../build/functions/crmsync.zip")
}
