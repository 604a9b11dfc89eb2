"""Observability: structured JSON logs for Cloud Logging, with secret redaction."""

from crmsync.obs.logging import JsonFormatter, configure_logging, current_context, log_context, redact
from crmsync.obs.redact import Redactor

__all__ = ["JsonFormatter", "Redactor", "configure_logging", "current_context", "log_context", "redact"]
