locals {
  # One identity per function, one per caller of the private functions, one for the builds.
  service_accounts = {
    web       = "Runs the public web function (connect, OAuth callback, settings, admin API)"
    fanout    = "Runs the fan-out function (enqueues due connections)"
    worker    = "Runs the worker function (syncs one connection)"
    scheduler = "Identity of Cloud Scheduler when it calls fan-out (OIDC)"
    tasks     = "Identity of Cloud Tasks when it calls the worker (OIDC)"
    build     = "Builds the function images with Cloud Build"
  }

  # Project-level roles: Firestore and Logging grant nothing narrower than the project.
  project_roles = {
    "web-datastore"    = { account = "web", role = "roles/datastore.user" }
    "fanout-datastore" = { account = "fanout", role = "roles/datastore.user" }
    "worker-datastore" = { account = "worker", role = "roles/datastore.user" }
    "web-logs"         = { account = "web", role = "roles/logging.logWriter" }
    "fanout-logs"      = { account = "fanout", role = "roles/logging.logWriter" }
    "worker-logs"      = { account = "worker", role = "roles/logging.logWriter" }
    "build-logs"       = { account = "build", role = "roles/logging.logWriter" }
  }

  # Who may create tasks that carry the tasks account's OIDC identity ("Sync now" and fan-out).
  task_creators = toset(["web", "fanout"])
}

resource "google_service_account" "sa" {
  for_each = local.service_accounts

  project      = var.project_id
  account_id   = "${var.name}-${each.key}"
  display_name = "${var.name} ${each.key}"
  description  = each.value

  depends_on = [google_project_service.apis]
}

resource "google_project_iam_member" "sa" {
  for_each = local.project_roles

  project = var.project_id
  role    = each.value.role
  member  = google_service_account.sa[each.value.account].member
}

# actAs on the tasks account only, so web and fan-out can mint its OIDC tokens on tasks.
resource "google_service_account_iam_member" "task_creator_act_as" {
  for_each = local.task_creators

  service_account_id = google_service_account.sa["tasks"].name
  role               = "roles/iam.serviceAccountUser"
  member             = google_service_account.sa[each.key].member
}
