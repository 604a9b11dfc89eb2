"""A Google Calendar push notification in: verify it, then queue one debounced events run.

Google POSTs an empty body with ``X-Goog-*`` headers. A notification is acted on only when the
channel id names an open channel of ours, the resource id is that channel's, and the token matches
its stored hash (constant-time). The first message of a channel (``sync``) only says the channel is
open and changes nothing. A message number not greater than the last one accepted is a replay (or a
retry of one already handled) and changes nothing either. Anything else queues (or joins) the
connection's debounced events run (services/debounce.py); the message number is recorded only once
the run is queued, so a failure to queue answers 503 and Google's retry of the same number is not
mistaken for a replay.
"""

from __future__ import annotations

import hmac
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from crmsync.model.kinds import Kind
from crmsync.model.state import ConnectionStatus
from crmsync.model.watch import CHANNEL_ID, TOKEN_MAX
from crmsync.queue.port import TaskQueue
from crmsync.services import debounce
from crmsync.store.contract import StateStore

log = logging.getLogger(__name__)
STATES = ("sync", "exists", "not_exists")
HEADERS = (
    "X-Goog-Channel-ID",
    "X-Goog-Channel-Token",
    "X-Goog-Channel-Expiration",
    "X-Goog-Resource-ID",
    "X-Goog-Resource-URI",
    "X-Goog-Resource-State",
    "X-Goog-Message-Number",
)
MAX_MESSAGE_NUMBER = 2**63 - 1
_PRINTABLE = re.compile(r"[\x21-\x7e]{1,256}")


class BadNotification(ValueError):
    """The request is not a well-formed Calendar notification (HTTP 400)."""


class Verdict(StrEnum):
    QUEUED = "queued"  # a new debounced run was queued
    JOINED = "joined"  # the window's run was already queued
    SYNC_MESSAGE = "sync_message"  # the channel's first message: nothing to do
    REPLAYED = "replayed"  # message number already seen: nothing done
    STRAY = "stray"  # a channel of a connection that no longer syncs: nothing done
    REFUSED = "refused"  # unknown channel, wrong resource id or wrong token: nothing done


@dataclass(frozen=True)
class Notification:
    """The headers of one notification, checked for shape (not yet for authenticity)."""

    channel_id: str
    resource_id: str
    state: str
    number: int
    token: str | None

    @classmethod
    def parse(cls, headers: Mapping[str, str]) -> Notification:
        """The notification in ``headers``; BadNotification names the header that is wrong."""
        channel_id = _header(headers, "X-Goog-Channel-ID")
        if not CHANNEL_ID.fullmatch(channel_id):
            raise BadNotification("X-Goog-Channel-ID is not a channel id of this service")
        resource_id = _header(headers, "X-Goog-Resource-ID")
        if not _PRINTABLE.fullmatch(resource_id):
            raise BadNotification("X-Goog-Resource-ID must be 1-256 printable characters")
        state = _header(headers, "X-Goog-Resource-State")
        if state not in STATES:
            raise BadNotification(f"X-Goog-Resource-State must be one of {', '.join(STATES)}")
        raw = _header(headers, "X-Goog-Message-Number")
        if not raw.isascii() or not raw.isdigit() or len(raw) > 19 or not 1 <= int(raw) <= MAX_MESSAGE_NUMBER:
            raise BadNotification("X-Goog-Message-Number must be a positive whole number")
        token = headers.get("X-Goog-Channel-Token")
        if token is not None and len(token) > TOKEN_MAX:
            raise BadNotification(f"X-Goog-Channel-Token is longer than {TOKEN_MAX} characters")
        return cls(channel_id, resource_id, state, int(raw), token)


def _header(headers: Mapping[str, str], name: str) -> str:
    value = headers.get(name)
    if value is None or not value.strip():
        raise BadNotification(f"the {name} header is missing")
    return value.strip()


@dataclass(frozen=True)
class PushResult:
    verdict: Verdict
    task_name: str | None = None


def receive(
    store: StateStore,
    queue: TaskQueue,
    note: Notification,
    now: datetime,
    window_seconds: float = debounce.DEBOUNCE_SECONDS,
) -> PushResult:
    """Act on one well-formed notification (see the module docstring)."""
    if note.state == "sync":
        return PushResult(Verdict.SYNC_MESSAGE)
    channel = store.get_watch_channel(note.channel_id)
    authentic = (
        channel is not None
        and note.token is not None
        and _same(note.resource_id, channel.resource_id)
        and channel.token_matches(note.token)
    )
    if channel is None or not authentic:
        log.warning("refused a push notification that is not from an open channel of ours")
        return PushResult(Verdict.REFUSED)
    if note.number <= channel.last_message:
        return PushResult(Verdict.REPLAYED)
    conn = store.get_connection(channel.connection_id)
    if conn is None or conn.status is not ConnectionStatus.ACTIVE:
        return PushResult(Verdict.STRAY)
    queued = debounce.request_sync(queue, conn.id, [Kind.EVENTS], now, window_seconds=window_seconds)
    if not store.accept_watch_message(channel.id, note.number, now):
        return PushResult(Verdict.REPLAYED, queued.task_name)  # a racing copy was accepted first
    if note.state == "not_exists":  # the calendar is gone: the next events run stops this channel
        store.flag_watch_channel(channel.id)
    return PushResult(Verdict.QUEUED if queued.enqueued else Verdict.JOINED, queued.task_name)


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
