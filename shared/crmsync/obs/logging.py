"""JSON logs in Cloud Logging's structured format, with context fields and redaction."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import sys
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import IO, Any

from crmsync.obs.redact import Redactor

__all__ = ["JsonFormatter", "Redactor", "configure_logging", "current_context", "log_context", "redact"]

#: The process-wide redactor: register tokens, keys and codes as soon as they are seen.
redact = Redactor()

_SEVERITY = {
    logging.DEBUG: "DEBUG",
    logging.INFO: "INFO",
    logging.WARNING: "WARNING",
    logging.ERROR: "ERROR",
    logging.CRITICAL: "CRITICAL",
}
TRACE_KEY = "logging.googleapis.com/trace"
SPAN_KEY = "logging.googleapis.com/spanId"
SOURCE_KEY = "logging.googleapis.com/sourceLocation"
# X-Cloud-Trace-Context: TRACE_ID/SPAN_ID;o=1    traceparent: 00-TRACE_ID-SPAN_ID-01
_CLOUD_TRACE = re.compile(r"^([0-9a-fA-F]{32})(?:/([0-9]+))?")
_TRACEPARENT = re.compile(r"^[0-9a-f]{2}-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}$")

_context: ContextVar[Mapping[str, Any]] = ContextVar("crmsync_log_context", default={})  # noqa: B039
_STANDARD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


@contextlib.contextmanager
def log_context(**fields: Any) -> Iterator[None]:
    """Attach fields (connection_id, run_id, function, trace=<trace header>, ...) to every log line inside."""
    token = _context.set({**_context.get(), **fields})
    try:
        yield
    finally:
        _context.reset(token)


def current_context() -> Mapping[str, Any]:
    """Return the fields attached by the enclosing log_context blocks."""
    return _context.get()


def parse_trace_header(value: str) -> tuple[str, str | None] | None:
    """Return (trace id, span id) from an X-Cloud-Trace-Context or traceparent header value."""
    value = value.strip()
    if match := _TRACEPARENT.match(value):
        return match.group(1), match.group(2)
    if match := _CLOUD_TRACE.match(value):
        span = match.group(2)
        return match.group(1), format(int(span), "016x") if span else None
    return None


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON line that Cloud Logging reads as a structured entry."""

    def __init__(self, project: str | None = None, redactor: Redactor | None = None) -> None:
        super().__init__()
        self.project = project
        self.redactor = redactor or redact

    def format(self, record: logging.LogRecord) -> str:
        """Return the record as a redacted JSON object on one line."""
        r = self.redactor
        message = record.getMessage() if not record.args else self._message_with_redacted_args(record)
        if record.exc_info:
            message = f"{message}\n{self.formatException(record.exc_info)}"
        elif record.stack_info:
            message = f"{message}\n{self.formatStack(record.stack_info)}"
        entry: dict[str, Any] = {
            "severity": _SEVERITY.get(record.levelno, "DEFAULT"),
            "message": r.text(message),
            "time": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="microseconds")
            .replace("+00:00", "Z"),
            "logger": record.name,
            SOURCE_KEY: {"file": record.pathname, "line": str(record.lineno), "function": record.funcName},
        }
        fields = {**_context.get(), **{k: v for k, v in vars(record).items() if k not in _STANDARD_ATTRS}}
        trace = fields.pop("trace", None)
        if isinstance(trace, str) and self.project and (parsed := parse_trace_header(trace)):
            entry[TRACE_KEY] = f"projects/{self.project}/traces/{parsed[0]}"
            if parsed[1]:
                entry[SPAN_KEY] = parsed[1]
        for key, value in fields.items():
            if key.startswith("_") or key in entry:
                continue
            entry[key] = r.value(value, key)
        return json.dumps(entry, ensure_ascii=False, default=str)

    def _message_with_redacted_args(self, record: logging.LogRecord) -> str:
        # Redact each argument before interpolation so a secret split across format specs still goes.
        args = record.args
        try:
            if isinstance(args, Mapping):
                return str(record.msg) % {k: self._arg(v) for k, v in args.items()}
            assert isinstance(args, tuple)
            return str(record.msg) % tuple(self._arg(v) for v in args)
        except (TypeError, ValueError):
            return record.getMessage()

    def _arg(self, value: Any) -> Any:
        return value if isinstance(value, bool | int | float) else self.redactor.text(str(value))


def configure_logging(
    level: str = "INFO",
    stream: IO[str] | None = None,
    *,
    project: str | None = None,
    redactor: Redactor | None = None,
) -> logging.Handler:
    """Send all logging to `stream` (stdout) as Cloud Logging JSON lines; return the handler installed."""
    numeric = logging.getLevelName(level.upper()) if isinstance(level, str) else None
    if not isinstance(numeric, int):
        raise ValueError(f"unknown log level {level!r}: use DEBUG, INFO, WARNING, ERROR or CRITICAL")
    project = project or os.environ.get("GOOGLE_CLOUD_PROJECT") or os.environ.get("GCP_PROJECT")
    handler = logging.StreamHandler(stream if stream is not None else sys.stdout)
    handler.setFormatter(JsonFormatter(project=project, redactor=redactor))
    handler.set_name("crmsync-json")
    root = logging.getLogger()
    for old in list(root.handlers):
        if old.get_name() == "crmsync-json":
            root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(numeric)
    return handler
