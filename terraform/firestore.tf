locals {
  # Must match shared/crmsync/store/queries.py: one entry per query with needs_composite_index,
  # equality fields first (ASCENDING), then the ordered fields. The Terraform tests fail (and
  # print the expected block) when the two drift apart.
  firestore_composite_indexes = {
    connections_by_status = {
      collection  = "connections"
      query_scope = "COLLECTION"
      fields = [
        { field_path = "status", order = "ASCENDING" },
        { field_path = "created_at", order = "DESCENDING" },
      ]
    }
    due_connections = {
      collection  = "connections"
      query_scope = "COLLECTION"
      fields = [
        { field_path = "status", order = "ASCENDING" },
        { field_path = "next_sync_at", order = "ASCENDING" },
      ]
    }
    due_connections_by_shard = {
      collection  = "connections"
      query_scope = "COLLECTION"
      fields = [
        { field_path = "status", order = "ASCENDING" },
        { field_path = "due_shard", order = "ASCENDING" },
        { field_path = "next_sync_at", order = "ASCENDING" },
      ]
    }
  }

  # Collection => timestamp field after which Firestore deletes the document (TTL_FIELDS).
  firestore_ttl_fields = {
    oauth_states = "expires_at"
    runs         = "expires_at"
    link_nonces  = "expires_at"
    intents      = "expires_at"
  }
}

resource "google_firestore_database" "main" {
  project                           = var.project_id
  name                              = "(default)"
  location_id                       = var.firestore.location_id
  type                              = "FIRESTORE_NATIVE"
  point_in_time_recovery_enablement = var.firestore.point_in_time_recovery ? "POINT_IN_TIME_RECOVERY_ENABLED" : "POINT_IN_TIME_RECOVERY_DISABLED"
  delete_protection_state           = var.firestore.delete_protection ? "DELETE_PROTECTION_ENABLED" : "DELETE_PROTECTION_DISABLED"
  deletion_policy                   = var.firestore.deletion_policy

  depends_on = [google_project_service.apis]
}

resource "google_firestore_index" "composite" {
  for_each = local.firestore_composite_indexes

  project     = var.project_id
  database    = google_firestore_database.main.name
  collection  = each.value.collection
  query_scope = each.value.query_scope

  dynamic "fields" {
    for_each = each.value.fields
    content {
      field_path = fields.value.field_path
      order      = fields.value.order
    }
  }
}

resource "google_firestore_field" "ttl" {
  for_each = local.firestore_ttl_fields

  project    = var.project_id
  database   = google_firestore_database.main.name
  collection = each.key
  field      = each.value

  ttl_config {}

  # No single-field indexes on the expiry timestamp: nothing queries it, and a monotonically
  # increasing indexed field is a write hotspot.
  index_config {}
}
