"""Signed webhooks between the CRM and crmsync (docs/crm-sync-api.md "Change notifications").

The sender signs ``<timestamp>.<body>`` with HMAC-SHA256 and the shared webhook secret and sends

    X-CrmSync-Timestamp: 1764670000            (Unix seconds when signed)
    X-CrmSync-Signature: v1=<64 hex digits>     (several, comma-separated, while a secret is rotated)

The receiver checks the timestamp first (at most ``TOLERANCE`` old or ahead), then the signature in
constant time, before it parses the body. Replays inside the tolerance are the receiver's job: it
remembers each delivery id (in the signed body) for longer than the tolerance.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

TIMESTAMP_HEADER = "X-CrmSync-Timestamp"
SIGNATURE_HEADER = "X-CrmSync-Signature"
TOLERANCE = timedelta(minutes=5)
SCHEME = "v1"
MAX_SIGNATURES = 4
_TIMESTAMP = re.compile(r"^[0-9]{1,12}$")
_SIGNATURE = re.compile(r"^v1=([0-9a-f]{64})$")


class WebhookRefused(Exception):
    """The call is not authentic or not fresh: HTTP 401 with this reason (``problem``: a type suffix)."""

    def __init__(self, problem: str, detail: str) -> None:
        super().__init__(detail)
        self.problem = problem


def signature(secret: bytes, timestamp: int, body: bytes) -> str:
    """The hex HMAC-SHA256 of ``<timestamp>.<body>``."""
    return hmac.new(secret, str(timestamp).encode("ascii") + b"." + body, hashlib.sha256).hexdigest()


def sign(secret: bytes, body: bytes, now: datetime) -> dict[str, str]:
    """The headers a sender adds to a webhook of ``body`` signed at ``now``."""
    timestamp = int(now.timestamp())
    return {TIMESTAMP_HEADER: str(timestamp), SIGNATURE_HEADER: f"{SCHEME}={signature(secret, timestamp, body)}"}


@dataclass(frozen=True)
class Verified:
    """An authentic, fresh webhook call."""

    signed_at: datetime


def verify(
    secret: bytes, timestamp_header: str | None, signature_header: str | None, body: bytes, now: datetime
) -> Verified:
    """Check a webhook's timestamp and signature; raise WebhookRefused saying what is wrong."""
    raw = (timestamp_header or "").strip()
    if not raw:
        raise WebhookRefused("webhook-signature", f"send the {TIMESTAMP_HEADER} header (Unix seconds when signed)")
    if not _TIMESTAMP.match(raw):
        raise WebhookRefused("webhook-signature", f"{TIMESTAMP_HEADER} must be Unix seconds, got {raw[:40]!r}")
    timestamp = int(raw)
    age = now.timestamp() - timestamp
    limit = TOLERANCE.total_seconds()
    if age > limit:
        raise WebhookRefused(
            "webhook-stale", f"signed {int(age)} s ago; a call must arrive within {int(limit)} s of signing"
        )
    if age < -limit:
        raise WebhookRefused("webhook-stale", f"signed {int(-age)} s in the future; check the sender's clock")
    offered = [s.strip() for s in (signature_header or "").split(",") if s.strip()]
    if not offered:
        raise WebhookRefused("webhook-signature", f"send the {SIGNATURE_HEADER} header (v1=<hex HMAC-SHA256>)")
    if len(offered) > MAX_SIGNATURES:
        raise WebhookRefused("webhook-signature", f"at most {MAX_SIGNATURES} signatures in {SIGNATURE_HEADER}")
    expected = signature(secret, timestamp, body).encode("ascii")
    match = False
    for item in offered:
        found = _SIGNATURE.match(item)
        given = found.group(1).encode("ascii") if found else b"0" * 64
        match |= hmac.compare_digest(given, expected)  # every one compared: no early exit
    if not match:
        raise WebhookRefused(
            "webhook-signature", "the signature does not match: sign '<timestamp>.<raw body>' with HMAC-SHA256"
        )
    return Verified(signed_at=now - timedelta(seconds=age))
