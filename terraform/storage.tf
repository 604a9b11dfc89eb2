resource "google_storage_bucket" "sources" {
  # checkov:skip=CKV_GCP_62:Access logs of a bucket that only Terraform and Cloud Build read add cost and no audit value; Cloud Audit Logs record admin access.
  project                     = var.project_id
  name                        = "${var.project_id}-${var.name}-sources"
  location                    = var.region
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = false

  versioning {
    enabled = true
  }

  # Objects are content-addressed, so old ones are dead weight after a few deployments.
  lifecycle_rule {
    condition {
      age = 90
    }
    action {
      type = "Delete"
    }
  }

  lifecycle_rule {
    condition {
      num_newer_versions = 3
      with_state         = "ARCHIVED"
    }
    action {
      type = "Delete"
    }
  }

  depends_on = [google_project_service.apis]
}

# Content-hashed name: a code change is a new object, and a new object redeploys the functions.
resource "google_storage_bucket_object" "source" {
  count = var.deploy_functions ? 1 : 0

  bucket       = google_storage_bucket.sources.name
  name         = "${var.name}-${filesha256(local.source_zip)}.zip"
  source       = local.source_zip
  content_type = "application/zip"

  lifecycle {
    precondition {
      condition     = fileexists(local.source_zip)
      error_message = "No function source zip at ${local.source_zip}: run `python scripts/build_function_zips.py --out build/functions` in the repository first (or set source_zip)."
    }
  }
}

resource "google_storage_bucket_iam_member" "build_reads_sources" {
  bucket = google_storage_bucket.sources.name
  role   = "roles/storage.objectViewer"
  member = google_service_account.sa["build"].member
}

resource "google_artifact_registry_repository" "functions" {
  # checkov:skip=CKV_GCP_84:The repository holds images built from this public source code, nothing confidential; Google-managed encryption is enough and CMEK would add a KMS key to run and pay for.
  project       = var.project_id
  location      = var.region
  repository_id = "${var.name}-functions"
  description   = "Images of the ${var.name} functions, built by Cloud Build."
  format        = "DOCKER"

  cleanup_policy_dry_run = false
  cleanup_policies {
    id     = "keep-recent"
    action = "KEEP"
    most_recent_versions {
      keep_count = 5
    }
  }
  cleanup_policies {
    id     = "delete-old"
    action = "DELETE"
    condition {
      older_than = "2592000s"
    }
  }

  depends_on = [google_project_service.apis]
}

resource "google_artifact_registry_repository_iam_member" "build_writes_images" {
  project    = var.project_id
  location   = var.region
  repository = google_artifact_registry_repository.functions.name
  role       = "roles/artifactregistry.writer"
  member     = google_service_account.sa["build"].member
}
