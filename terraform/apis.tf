locals {
  required_apis = toset([
    "artifactregistry.googleapis.com",
    "calendar-json.googleapis.com", # the users' Google Calendar, through the OAuth client of this project
    "cloudbuild.googleapis.com",
    "cloudfunctions.googleapis.com",
    "cloudresourcemanager.googleapis.com",
    "cloudscheduler.googleapis.com",
    "cloudtasks.googleapis.com",
    "firestore.googleapis.com",
    "iam.googleapis.com",
    "logging.googleapis.com",
    "people.googleapis.com", # Google Contacts
    "run.googleapis.com",
    "secretmanager.googleapis.com",
    "storage.googleapis.com",
    "tasks.googleapis.com", # Google Tasks
  ])
}

resource "google_project_service" "apis" {
  for_each = local.required_apis

  project = var.project_id
  service = each.value

  # Other workloads in the project may use the same APIs: never switch them off on destroy.
  disable_on_destroy         = false
  disable_dependent_services = false
}

data "google_project" "this" {
  project_id = var.project_id

  depends_on = [google_project_service.apis]
}
