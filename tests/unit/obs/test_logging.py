"""Structured JSON logs: format, context fields, trace, and redaction of every kind of secret."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from crmsync.obs import Redactor, configure_logging, log_context
from crmsync.obs.logging import SPAN_KEY, TRACE_KEY

pytestmark = pytest.mark.unit

REFRESH = "1//0gAbCdEfGhIjKlMnOp-qrstuvWXYZ_0123456789"
ACCESS = "ya29.a0AfH6SMBx-abcdefghijklmnopqrstuvwxyz0123"
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1c2VyIn0.c2lnbmF0dXJlLXZhbHVl"
REGISTERED = "client-secret-GOCSPX-abcdef123456"


@pytest.fixture
def stream() -> Iterator[io.StringIO]:
    out = io.StringIO()
    redactor = Redactor()
    redactor.register(REGISTERED)
    handler = configure_logging("DEBUG", out, project="crmsync-prod", redactor=redactor)
    yield out
    logging.getLogger().removeHandler(handler)


def lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_line_is_cloud_logging_json(stream: io.StringIO) -> None:
    logging.getLogger("crmsync.test").info("synced %d contacts", 3)
    (entry,) = lines(stream)
    assert entry["severity"] == "INFO"
    assert entry["message"] == "synced 3 contacts"
    assert entry["time"].endswith("Z")
    assert entry["logger"] == "crmsync.test"
    assert entry["logging.googleapis.com/sourceLocation"]["function"] == "test_line_is_cloud_logging_json"


@pytest.mark.parametrize(
    ("level", "severity"),
    [
        (logging.DEBUG, "DEBUG"),
        (logging.INFO, "INFO"),
        (logging.WARNING, "WARNING"),
        (logging.ERROR, "ERROR"),
        (logging.CRITICAL, "CRITICAL"),
        (25, "DEFAULT"),
    ],
)
def test_severity_mapping(stream: io.StringIO, level: int, severity: str) -> None:
    logging.getLogger("crmsync.test").log(level, "x")
    assert lines(stream)[0]["severity"] == severity


def test_context_fields_and_trace(stream: io.StringIO) -> None:
    log = logging.getLogger("crmsync.test")
    with log_context(connection_id="c1", function="worker", trace="0123456789abcdef0123456789abcdef/123;o=1"):
        with log_context(run_id="r9"):
            log.info("inner", extra={"items": 4})
        log.info("outer")
    log.info("after")
    inner, outer, after = lines(stream)
    assert (inner["connection_id"], inner["run_id"], inner["function"], inner["items"]) == ("c1", "r9", "worker", 4)
    assert inner[TRACE_KEY] == "projects/crmsync-prod/traces/0123456789abcdef0123456789abcdef"
    assert inner[SPAN_KEY] == format(123, "016x")
    assert "run_id" not in outer
    assert outer["connection_id"] == "c1"
    assert "connection_id" not in after
    assert TRACE_KEY not in after


def test_traceparent_header(stream: io.StringIO) -> None:
    with log_context(trace="00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"):
        logging.getLogger("t").warning("w")
    entry = lines(stream)[0]
    assert entry[TRACE_KEY].endswith("/traces/4bf92f3577b34da6a3ce929d0e0e4736")
    assert entry[SPAN_KEY] == "00f067aa0ba902b7"


@pytest.mark.parametrize(
    ("template", "secret"),
    [
        ("refresh token {s}", REFRESH),
        ("access token {s}", ACCESS),
        ("Authorization: Bearer {s}", "opaque-bearer-value-123"),
        ("link token {s}", JWT),
        ("GET /oauth/callback?code={s}&scope=x", "4/0AX4XfWh-auth-code-value"),
        ("GET /connect?t={s}", "some.signed.linkvalue"),
        ("GET /oauth/callback?state={s}", "statevalue123456"),
        ('response {{"refresh_token": "{s}", "expires_in": 3599}}', "opaque-refresh-xyz"),
        ("payload {{'access_token': '{s}'}}", "opaque-access-xyz"),
        ('{{"client_secret":"{s}"}}', "GOCSPX-zzz999"),
        ("configured with {s}", REGISTERED),
    ],
)
def test_secrets_in_message_are_masked(stream: io.StringIO, template: str, secret: str) -> None:
    logging.getLogger("t").info(template.format(s=secret))
    raw = stream.getvalue()
    assert secret not in raw
    assert "[REDACTED]" in json.loads(raw)["message"]


def test_secrets_in_args_and_extra_are_masked(stream: io.StringIO) -> None:
    logging.getLogger("t").info(
        "token %s for %s",
        REFRESH,
        "alice",
        extra={"refresh_token": "opaque-value-1", "note": f"got {ACCESS}", "nested": {"client_secret": "s3cr3t-value"}},
    )
    raw = stream.getvalue()
    for secret in (REFRESH, "opaque-value-1", ACCESS, "s3cr3t-value"):
        assert secret not in raw
    entry = json.loads(raw)
    assert entry["message"] == "token [REDACTED] for alice"
    assert entry["refresh_token"] == "[REDACTED]"
    assert entry["nested"] == {"client_secret": "[REDACTED]"}


def test_exception_text_is_masked(stream: io.StringIO) -> None:
    try:
        raise RuntimeError(f"token refresh failed for {REFRESH} with {REGISTERED}")
    except RuntimeError:
        logging.getLogger("t").exception("sync failed")
    raw = stream.getvalue()
    assert REFRESH not in raw
    assert REGISTERED not in raw
    entry = json.loads(raw)
    assert entry["severity"] == "ERROR"
    assert "Traceback" in entry["message"]
    assert "RuntimeError" in entry["message"]


def test_harmless_text_is_kept(stream: io.StringIO) -> None:
    logging.getLogger("t").info("format=json count=3 at 1/2 done; eyes open")
    assert lines(stream)[0]["message"] == "format=json count=3 at 1/2 done; eyes open"


def test_short_values_are_not_registered() -> None:
    redactor = Redactor()
    redactor.register("abc")
    redactor.register(None)
    assert redactor.text("abc") == "abc"


def test_vault_registers_tokens_it_sees(tmp_path: Any, stream: io.StringIO) -> None:
    from crmsync.obs import redact
    from crmsync.vault import LocalFileVault

    opaque = "opaque-token-with-no-known-shape"
    LocalFileVault(tmp_path / "v.json").put("c", opaque)
    assert redact.text(f"x {opaque} y") == "x [REDACTED] y"


def test_unknown_level_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unknown log level 'LOUD'"):
        configure_logging("LOUD", io.StringIO())


def test_configure_twice_keeps_one_handler() -> None:
    first, second = io.StringIO(), io.StringIO()
    configure_logging("INFO", first)
    handler = configure_logging("INFO", second)
    try:
        logging.getLogger("t").info("once")
        assert first.getvalue() == ""
        assert len(second.getvalue().splitlines()) == 1
    finally:
        logging.getLogger().removeHandler(handler)
