locals {
  # Secrets whose values the operator adds after the first apply (never through Terraform,
  # so they are in neither state nor variables). Key = env var the functions read.
  config_secrets = {
    CRMSYNC_LINK_SIGNING_KEY    = { id = "${var.name}-link-signing-key", readers = ["web", "worker"] }
    CRMSYNC_SESSION_KEY         = { id = "${var.name}-session-key", readers = ["web"] }
    CRMSYNC_OAUTH_CLIENT_SECRET = { id = "${var.name}-oauth-client-secret", readers = ["web", "worker"] }
    CRMSYNC_CRM_API_KEY         = { id = "${var.name}-crm-api-key", readers = ["web", "worker"] }
    CRMSYNC_ADMIN_API_KEY       = { id = "${var.name}-admin-api-key", readers = ["web"] }
    # Verifies the CRM's signed change notifications (POST /crm/changes); the CRM signs with it.
    CRMSYNC_CRM_WEBHOOK_SECRET = { id = "${var.name}-crm-webhook-secret", readers = ["web"] }
  }
  # Envelope vault only: the data keys that seal the refresh tokens stored in Firestore. Not an
  # environment variable: the functions read its versions by id (CRMSYNC_DATA_KEY_SECRET names
  # it), so a rotated key is picked up and blobs sealed under older versions still open.
  envelope_secrets = {
    data-key = { id = "${var.name}-data-key", readers = ["web", "worker"] }
  }
  secrets = merge(local.config_secrets, var.vault == "envelope" ? local.envelope_secrets : {})

  secret_readers = merge([
    for env, s in local.secrets : { for reader in s.readers : "${env}/${reader}" => { env = env, account = reader } }
  ]...)

  # Per-connection refresh-token secrets, created at run time: only names under this prefix.
  token_secret_condition = "resource.name.startsWith(\"projects/${local.project_number}/secrets/${local.secret_prefix}\")"
}

resource "google_secret_manager_secret" "config" {
  for_each = local.secrets

  project   = var.project_id
  secret_id = each.value.id

  replication {
    auto {}
  }

  depends_on = [google_project_service.apis]
}

resource "google_secret_manager_secret_iam_member" "reader" {
  for_each = local.secret_readers

  project   = var.project_id
  secret_id = google_secret_manager_secret.config[each.value.env].secret_id
  role      = "roles/secretmanager.secretAccessor"
  member    = google_service_account.sa[each.value.account].member
}

# Creating a secret is checked against the project, where a name condition cannot apply; the
# role holds nothing else, so the web function can create secrets but not read others.
resource "google_project_iam_custom_role" "token_creator" {
  project     = var.project_id
  role_id     = "${replace(var.name, "-", "_")}_token_creator"
  title       = "${var.name} token secret creator"
  description = "Create per-connection refresh-token secrets."
  permissions = ["secretmanager.secrets.create"]
}

resource "google_project_iam_custom_role" "token_manager" {
  project     = var.project_id
  role_id     = "${replace(var.name, "-", "_")}_token_manager"
  title       = "${var.name} token secret manager"
  description = "Store, read and destroy per-connection refresh tokens (connect and disconnect)."
  permissions = [
    "secretmanager.secrets.delete",
    "secretmanager.secrets.get",
    "secretmanager.versions.access",
    "secretmanager.versions.add",
    "secretmanager.versions.destroy",
    "secretmanager.versions.disable",
    "secretmanager.versions.get",
  ]
}

resource "google_project_iam_custom_role" "token_user" {
  project     = var.project_id
  role_id     = "${replace(var.name, "-", "_")}_token_user"
  title       = "${var.name} token secret user"
  description = "Read per-connection refresh tokens and store the new one when Google rotates it."
  permissions = [
    "secretmanager.versions.access",
    "secretmanager.versions.add",
    "secretmanager.versions.destroy",
    "secretmanager.versions.disable",
  ]
}

resource "google_project_iam_member" "web_token_creator" {
  count = var.vault == "secret_manager" ? 1 : 0

  project = var.project_id
  role    = google_project_iam_custom_role.token_creator.id
  member  = google_service_account.sa["web"].member
}

resource "google_project_iam_member" "token_secrets" {
  for_each = var.vault == "secret_manager" ? {
    web    = google_project_iam_custom_role.token_manager.id
    worker = google_project_iam_custom_role.token_user.id
  } : {}

  project = var.project_id
  role    = each.value
  member  = google_service_account.sa[each.key].member

  condition {
    title       = "${var.name}-token-secrets-only"
    description = "Only the per-connection token secrets of this deployment."
    expression  = local.token_secret_condition
  }
}
