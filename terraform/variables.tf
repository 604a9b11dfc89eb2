variable "project_id" {
  description = "Google Cloud project to deploy into (its id, not its number)."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "project_id must be a Google Cloud project id: 6-30 lowercase letters, digits and hyphens, starting with a letter."
  }
}

variable "region" {
  description = "Region for the functions, the Cloud Tasks queues, the scheduler job and the source bucket."
  type        = string
  default     = "us-central1"
}

variable "name" {
  description = "Name of this deployment; prefixes every resource, service account and secret, so two deployments can share a project."
  type        = string
  default     = "crmsync"

  validation {
    # Service account ids are at most 30 characters and the longest suffix used is "-scheduler".
    condition     = can(regex("^[a-z][a-z0-9-]{1,18}[a-z0-9]$", var.name))
    error_message = "name must be 3-20 lowercase letters, digits and hyphens, starting with a letter and not ending with a hyphen."
  }
}

variable "labels" {
  description = "Extra labels put on every resource that supports them."
  type        = map(string)
  default     = {}
}

variable "deploy_functions" {
  description = "Set to false for the first apply: it creates everything but the functions, so the operator can add the secret values (a function cannot deploy while a secret it references has no version) and register the OAuth redirect URI."
  type        = bool
  default     = true
}

variable "crm_base_url" {
  description = "Base URL of the CRM Sync API that the worker calls, e.g. https://crm.example.com/crm-sync/v1."
  type        = string

  validation {
    condition     = can(regex("^https://[^\\s/]+(/.*)?$", var.crm_base_url)) && !endswith(var.crm_base_url, "/")
    error_message = "crm_base_url must be an https:// URL without a trailing slash."
  }
}

variable "oauth_client_id" {
  description = "Client id of the Google OAuth web client (ends with .apps.googleusercontent.com). May stay empty while deploy_functions is false."
  type        = string
  default     = ""

  validation {
    condition     = var.oauth_client_id == "" || endswith(var.oauth_client_id, ".apps.googleusercontent.com")
    error_message = "oauth_client_id must be the client id of a Google OAuth client, ending with .apps.googleusercontent.com."
  }
}

variable "public_base_url" {
  description = "Public URL of the web function if it is served behind a custom domain or load balancer; null uses the function's own run.app URL."
  type        = string
  default     = null

  validation {
    condition     = var.public_base_url == null || can(regex("^https://[^\\s/]+$", coalesce(var.public_base_url, "x")))
    error_message = "public_base_url must be https://host (no path, no trailing slash) or null."
  }
}

variable "vault" {
  description = "Where refresh tokens live: envelope (the default: ciphertext in Firestore, sealed with one data key kept in Secret Manager) or secret_manager (one secret per connection, billed per version and month). Switching moves no token: run python -m crmsync vault migrate (docs/deploy.md)."
  type        = string
  default     = "envelope"

  validation {
    condition     = contains(["secret_manager", "envelope"], var.vault)
    error_message = "vault must be \"secret_manager\" or \"envelope\"."
  }
}

variable "log_level" {
  description = "Log level of the functions."
  type        = string
  default     = "INFO"

  validation {
    condition     = contains(["DEBUG", "INFO", "WARNING", "ERROR"], var.log_level)
    error_message = "log_level must be one of DEBUG, INFO, WARNING, ERROR."
  }
}

variable "calendar_push" {
  description = "Google Calendar push: the worker keeps a watch channel per read calendar delivering to the web function's /push/calendar, so Calendar edits sync in seconds; false polls events like the other kinds."
  type        = bool
  default     = true
}

variable "push_debounce_seconds" {
  description = "Debounce window of push notifications: a burst of notifications for one connection within this many seconds is one sync run at the window's end (a named, delayed Cloud Task)."
  type        = number
  default     = 5

  validation {
    condition     = var.push_debounce_seconds >= 1 && var.push_debounce_seconds <= 300
    error_message = "push_debounce_seconds must be from 1 to 300."
  }
}

variable "source_zip" {
  description = "Path of the function source zip built by `python scripts/build_function_zips.py --out build/functions`; null means build/functions/crmsync.zip in the repository."
  type        = string
  default     = null
}

variable "firestore" {
  description = "The Firestore database (native mode, the (default) database of the project)."
  type = object({
    location_id       = optional(string, "nam5")
    delete_protection = optional(bool, true)
    # ABANDON leaves the database (and every user's sync state) in place on `terraform destroy`.
    deletion_policy        = optional(string, "ABANDON")
    point_in_time_recovery = optional(bool, true)
  })
  default = {}

  validation {
    condition     = contains(["ABANDON", "DELETE"], var.firestore.deletion_policy)
    error_message = "firestore.deletion_policy must be ABANDON or DELETE."
  }
}

variable "functions" {
  description = "Sizing of the three functions. Instances with concurrency above 1 need at least 1 vCPU."
  type = object({
    web = optional(object({
      memory          = optional(string, "512Mi")
      cpu             = optional(string, "1")
      timeout_seconds = optional(number, 60)
      concurrency     = optional(number, 40)
      min_instances   = optional(number, 0)
      max_instances   = optional(number, 20)
    }), {})
    fanout = optional(object({
      memory          = optional(string, "1Gi")
      cpu             = optional(string, "1")
      timeout_seconds = optional(number, 120)
      concurrency     = optional(number, 1)
      min_instances   = optional(number, 0)
      max_instances   = optional(number, 2)
    }), {})
    worker = optional(object({
      memory          = optional(string, "512Mi")
      cpu             = optional(string, "1")
      timeout_seconds = optional(number, 540)
      concurrency     = optional(number, 8)
      min_instances   = optional(number, 0)
      max_instances   = optional(number, 100)
    }), {})
  })
  default = {}

  validation {
    condition = alltrue([
      for f in [var.functions.web, var.functions.fanout, var.functions.worker] :
      f.concurrency >= 1 && f.concurrency <= 1000 && (f.concurrency == 1 || tonumber(f.cpu) >= 1)
    ])
    error_message = "functions.*.concurrency must be 1-1000, and above 1 only with cpu >= 1."
  }

  validation {
    condition = alltrue([
      for f in [var.functions.web, var.functions.fanout, var.functions.worker] :
      f.timeout_seconds >= 1 && f.timeout_seconds <= 3600 && f.min_instances >= 0 && f.max_instances >= max(1, f.min_instances)
    ])
    error_message = "functions.*: timeout_seconds must be 1-3600, min_instances >= 0 and max_instances >= max(1, min_instances)."
  }
}

variable "private_ingress" {
  description = "Ingress of the fanout and worker functions. ALLOW_INTERNAL_ONLY admits Cloud Scheduler and Cloud Tasks of the same project; ALLOW_ALL leaves only IAM (run.invoker) in the way."
  type        = string
  default     = "ALLOW_INTERNAL_ONLY"

  validation {
    condition     = contains(["ALLOW_INTERNAL_ONLY", "ALLOW_ALL"], var.private_ingress)
    error_message = "private_ingress must be ALLOW_INTERNAL_ONLY or ALLOW_ALL."
  }
}

variable "fanout_schedule" {
  description = "Cron schedule (UTC) of the scheduler job that calls fan-out."
  type        = string
  default     = "* * * * *"
}

variable "queue_shards" {
  description = "Number of Cloud Tasks queues (crmsync-sync-0..N-1). One queue dispatches at most 500 tasks/s; add shards when the total rate must exceed that."
  type        = number
  default     = 1

  validation {
    condition     = var.queue_shards >= 1 && var.queue_shards <= 100 && floor(var.queue_shards) == var.queue_shards
    error_message = "queue_shards must be a whole number from 1 to 100."
  }
}

variable "queue" {
  description = "Throttle and retries of the sync queues. Rates are totals over all shards: size total_dispatches_per_second against the Google API quotas (see google_api_quotas and docs/deploy.md)."
  type = object({
    total_dispatches_per_second = optional(number, 100)
    total_concurrent_dispatches = optional(number, 400)
    max_attempts                = optional(number, 5)
    min_backoff                 = optional(string, "10s")
    max_backoff                 = optional(string, "600s")
    max_doublings               = optional(number, 4)
    max_retry_duration          = optional(string, "3600s")
    log_sampling_ratio          = optional(number, 0.1)
  })
  default = {}

  validation {
    condition     = var.queue.total_dispatches_per_second > 0 && var.queue.total_concurrent_dispatches >= 1
    error_message = "queue.total_dispatches_per_second must be > 0 and queue.total_concurrent_dispatches >= 1."
  }

  validation {
    condition = alltrue([
      for d in [var.queue.min_backoff, var.queue.max_backoff, var.queue.max_retry_duration] : can(regex("^[0-9]+(\\.[0-9]+)?s$", d))
    ]) && var.queue.max_attempts >= 1 && var.queue.max_attempts <= 100 && var.queue.max_doublings >= 0
    error_message = "queue: durations are seconds like \"10s\"; max_attempts must be 1-100 and max_doublings >= 0."
  }

  validation {
    condition     = var.queue.log_sampling_ratio >= 0 && var.queue.log_sampling_ratio <= 1
    error_message = "queue.log_sampling_ratio must be between 0 and 1."
  }
}

variable "google_api_quotas" {
  description = "Per-project Google API quotas of this project and how many requests one sync run makes, used to check the queue's rate. Defaults: Calendar API 10,000 requests/min and Secret Manager 90,000 accesses/min per project (Google's standard quotas; read yours on the Quotas page)."
  type = object({
    calendar_requests_per_minute = optional(number, 10000)
    calendar_requests_per_run    = optional(number, 1)
    secret_accesses_per_minute   = optional(number, 90000)
    secret_accesses_per_run      = optional(number, 1)
  })
  default = {}
}
