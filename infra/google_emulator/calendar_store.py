"""Per-account Calendar data: calendars, stored events, the per-calendar change log, tokens.

Stored event dicts are never mutated in place (a change stores a new dict), so
handlers can return them directly while the server serializes outside the lock.
Each calendar keeps an append-only log of (change seq, event id); an event's
live entry is its latest one, stale entries are skipped and compacted away.
Listings and sync-token listings walk this log from a bisected position, so a
page costs O(page) plus the stale entries skipped.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from .calendar_model import Span, etag, invalid
from .core import ApiError, EmulatorState

DEFAULT_TOKEN_MAX_AGE_DAYS = 30
_FULL_SYNC = "Sync token is no longer valid, a full sync is required."


@dataclass
class Cal:
    """One calendar with its events (series masters, single events and instance exceptions)."""

    id: str
    summary: str
    time_zone: str
    primary: bool = False
    description: str | None = None
    location: str | None = None
    seq: int = 0  # last metadata change (calendarList sync)
    last_seq: int = 0  # last change of the calendar or any event
    updated: datetime = field(default_factory=lambda: datetime(1970, 1, 1, tzinfo=UTC))
    events: dict[str, dict[str, Any]] = field(default_factory=dict)
    spans: dict[str, Span] = field(default_factory=dict)
    seq_of: dict[str, int] = field(default_factory=dict)
    log: list[tuple[int, str]] = field(default_factory=list)
    exceptions: dict[str, dict[str, None]] = field(default_factory=dict)  # series id -> exception ids
    by_ical: dict[str, dict[str, None]] = field(default_factory=dict)
    off_rule: str = "google"  # how a series start off its rule counts (realism.py), set per request

    def put(self, ev: dict[str, Any], span: Span, seq: int, now: datetime) -> None:
        """Store a new version of an event under change number ``seq``."""
        eid = ev["id"]
        self.events[eid] = ev
        self.spans[eid] = span
        self.seq_of[eid] = seq
        self.log.append((seq, eid))
        self.last_seq = max(self.last_seq, seq)
        self.updated = now
        if "recurringEventId" in ev:
            self.exceptions.setdefault(ev["recurringEventId"], {})[eid] = None
        self.by_ical.setdefault(ev.get("iCalUID", ""), {})[eid] = None
        if len(self.log) > 2 * len(self.events) + 64:
            self.log = sorted((s, i) for i, s in self.seq_of.items())

    def entries(self, after: int, upto: int) -> Iterator[tuple[int, str]]:
        """Live (seq, event id) entries with after < seq <= upto, in change order."""
        log = self.log
        i = bisect_right(log, (after, "\U0010ffff"))
        seq_of = self.seq_of
        while i < len(log):
            seq, eid = log[i]
            if seq > upto:
                return
            if seq_of.get(eid) == seq:
                yield seq, eid
            i += 1

    def etag(self) -> str:
        return etag(self.last_seq)


@dataclass
class CalendarStore:
    """An account's calendars plus sync-token bookkeeping and the invitation e-mail counter."""

    calendars: dict[str, Cal] = field(default_factory=dict)
    nonce: str = field(default_factory=lambda: secrets.token_hex(4))
    token_generation: int = 0
    invitations_sent: int = 0
    invitation_log: list[dict[str, Any]] = field(default_factory=list)

    def ensure_primary(self, email: str, state: EmulatorState) -> Cal:
        """The primary calendar (id = the account e-mail), created on first use."""
        cal = self.calendars.get(email)
        if cal is None:
            seq = state.next_id()
            cal = Cal(id=email, summary=email, time_zone="UTC", primary=True, seq=seq, last_seq=seq)
            self.calendars[email] = cal
        return cal

    def resolve(self, calendar_id: str, email: str, state: EmulatorState) -> Cal:
        """The calendar for a path id (``primary`` aliases the account's e-mail), or 404."""
        primary = self.ensure_primary(email, state)
        if calendar_id == "primary" or calendar_id.lower() == email:
            return primary
        cal = self.calendars.get(calendar_id)
        if cal is None:
            raise ApiError(404, "Not Found", reason="notFound")
        return cal


def _encode(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).decode().rstrip("=")


def _decode(token: str) -> dict[str, Any] | None:
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (ValueError, binascii.Error):
        return None
    return data if isinstance(data, dict) else None


def make_page_token(data: dict[str, Any]) -> str:
    """An opaque page token carrying the listing cursor."""
    return _encode({"p": 1, **data})


def read_page_token(token: str, params_hash: str) -> dict[str, Any]:
    """The cursor in a page token, or a 400 when it is malformed or from another query."""
    data = _decode(token)
    if data is None or data.get("p") != 1:
        raise ApiError(400, "Invalid page token value.", reason="invalid", location="pageToken")
    if data.get("h") != params_hash:
        raise ApiError(
            400,
            "Invalid page token: it was issued for a request with different parameters; repeat the original query.",
            reason="invalid",
            location="pageToken",
        )
    return data


def make_sync_token(store: CalendarStore, cal: Cal, seq: int, single: bool, now: datetime) -> str:
    """A sync token for changes after ``seq`` in ``cal``."""
    return _encode(
        {"n": store.nonce, "g": store.token_generation, "c": cal.id, "s": seq, "t": int(now.timestamp()), "e": single}
    )


def read_sync_token(token: str, store: CalendarStore, cal: Cal, single: bool, state: EmulatorState) -> int:
    """The change seq a sync token stands for; 410 fullSyncRequired if invalid, expired or revoked."""
    data = _decode(token)
    max_age = float(state.extras.get("calendar_sync_token_max_age_days", DEFAULT_TOKEN_MAX_AGE_DAYS))
    if (
        data is None
        or data.get("n") != store.nonce
        or data.get("g") != store.token_generation
        or data.get("c") != cal.id
        or not isinstance(data.get("s"), int)
        or state.clock.now().timestamp() - float(data.get("t", 0)) > max_age * 86400
    ):
        raise ApiError(410, _FULL_SYNC, reason="fullSyncRequired")
    if bool(data.get("e")) != single:
        raise invalid(
            "The syncToken was issued for a listing with singleEvents="
            f"{str(bool(data.get('e'))).lower()}; repeat the initial sync's parameters or do a full sync."
        )
    return int(data["s"])
