"""The life of a connection's Calendar push channels: one per read calendar, each with its own token.

- **Opened** by the events run once events sync is on and push is configured (``PushTarget``), for
  every calendar the run reads; the token is random per channel and only its SHA-256 is stored.
- **Renewed** by the events run when less than ``renew_before`` is left (Google never renews a
  channel): a new channel is opened first, then the old one is stopped, so no change goes unannounced.
- **Stopped** (``channels.stop``) when its calendar is no longer read, when it is replaced, and on
  disconnect (``stop_all``).
- **Re-created** when Google stops sending: a poll that finds Google changes of events while no
  message arrived since the previous run flags the channels (``note_poll``); the next events run
  replaces flagged channels.

Every failure here is logged and left for the next run: polling stays the safety net.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from crmsync.google.calendar_channels import CalendarChannels
from crmsync.model.kinds import Kind
from crmsync.model.watch import WatchChannel, token_hash
from crmsync.ports import OpCounter
from crmsync.store.watch_port import WatchChannelStore

log = logging.getLogger(__name__)
PUSH_PATH = "/push/calendar"
DEFAULT_TTL = timedelta(days=7)  # Google's default for Calendar channels
DEFAULT_RENEW_BEFORE = timedelta(days=2)  # the slowest poll is far shorter: every channel is renewed in time


@dataclass(frozen=True)
class PushTarget:
    """Where Google delivers notifications and how long channels live."""

    address: str  # https://<web function>/push/calendar
    ttl: timedelta = DEFAULT_TTL
    renew_before: timedelta = DEFAULT_RENEW_BEFORE

    @classmethod
    def for_base_url(cls, base_url: str) -> PushTarget:
        """The target of a deployment whose web function is at ``base_url``."""
        return cls(base_url.rstrip("/") + PUSH_PATH)


@dataclass
class ChannelReport:
    """What one maintenance pass did."""

    opened: list[str] = field(default_factory=list)  # calendar ids
    stopped: list[str] = field(default_factory=list)  # channel ids
    failed: list[str] = field(default_factory=list)  # "calendar: reason"


def new_channel_id() -> str:
    """A fresh channel id (Google wants it unique per project; 34 characters)."""
    return "wc" + secrets.token_hex(16)


def _keep(channel: WatchChannel, calendars: set[str], target: PushTarget, now: datetime) -> bool:
    return channel.calendar_id in calendars and not channel.suspect and channel.expires_at - now > target.renew_before


def maintain(
    store: WatchChannelStore,
    google: CalendarChannels,
    connection_id: str,
    calendars: Iterable[str],
    target: PushTarget,
    now: datetime,
) -> ChannelReport:
    """Make the stored channels exactly one live channel per calendar read; stop the rest."""
    report = ChannelReport()
    wanted = list(dict.fromkeys(calendars))
    existing = sorted(store.watch_channels(connection_id), key=lambda c: c.expires_at, reverse=True)
    kept: dict[str, WatchChannel] = {}
    for channel in existing:
        if channel.calendar_id not in kept and _keep(channel, set(wanted), target, now):
            kept[channel.calendar_id] = channel
    for calendar in wanted:
        if calendar not in kept and not _open(store, google, connection_id, calendar, target, now, report):
            # Keep the old channel of this calendar while no new one could be opened.
            old = next((c for c in existing if c.calendar_id == calendar and c.expires_at > now), None)
            if old is not None:
                kept[calendar] = old
    keep_ids = {c.id for c in kept.values()}
    for channel in existing:
        if channel.id not in keep_ids:
            _stop(store, google, channel, report)
    return report


def _open(
    store: WatchChannelStore,
    google: CalendarChannels,
    connection_id: str,
    calendar: str,
    target: PushTarget,
    now: datetime,
    report: ChannelReport,
) -> bool:
    channel_id, token = new_channel_id(), secrets.token_urlsafe(32)
    try:
        opened = google.watch(calendar, channel_id, target.address, token, target.ttl, now)
    except Exception as err:  # polling covers this calendar until the next run tries again
        log.warning("could not open a push channel on a calendar: %s", type(err).__name__, exc_info=True)
        report.failed.append(f"{calendar}: {type(err).__name__}")
        return False
    channel = WatchChannel(
        id=channel_id,
        connection_id=connection_id,
        calendar_id=calendar,
        resource_id=opened.resource_id,
        token_sha256=token_hash(token),
        expires_at=opened.expires_at,
        created_at=now,
    )
    store.put_watch_channel(channel)
    report.opened.append(calendar)
    return True


def _stop(
    store: WatchChannelStore, google: CalendarChannels | None, channel: WatchChannel, report: ChannelReport
) -> None:
    if google is not None:
        try:
            google.stop(channel.id, channel.resource_id)
        except Exception as err:  # it expires on its own; the endpoint ignores channels it no longer knows
            log.warning("could not stop push channel %s: %s", channel.id, type(err).__name__)
            report.failed.append(f"stop {channel.id}: {type(err).__name__}")
    store.delete_watch_channel(channel.id)
    report.stopped.append(channel.id)


def stop_all(store: WatchChannelStore, google: CalendarChannels | None, connection_id: str) -> ChannelReport:
    """Stop every channel of a connection (disconnect, events switched off) and forget them.
    Without ``google`` (no usable token) the channels are only forgotten: they expire at Google."""
    report = ChannelReport()
    for channel in store.watch_channels(connection_id):
        _stop(store, google, channel, report)
    return report


def note_poll(
    store: WatchChannelStore,
    connection_id: str,
    reason: str,
    summary: dict[str, Any],
    previous_run_end: datetime | None,
) -> list[str]:
    """After a poll (a scheduler tick): if its incremental listing found Google changes of events and no
    message arrived on a channel since the previous run ended, push missed them: flag that channel (the
    next events run replaces it). Returns the channel ids flagged."""
    if reason != "tick" or previous_run_end is None:
        # Only a poll says something about push: a push run was announced, and a rerun or a continuation
        # may list our own writes of the run before, announced while that run still held the lease.
        return []
    report = (summary.get("kinds") or {}).get(Kind.EVENTS.value) or {}
    if report.get("full") or not int((report.get("listed") or {}).get("google") or 0):
        return []
    flagged = []
    try:
        for channel in store.watch_channels(connection_id):
            silent = channel.last_message_at is None or channel.last_message_at < previous_run_end
            if silent and channel.created_at < previous_run_end and not channel.suspect:
                store.flag_watch_channel(channel.id)
                flagged.append(channel.id)
    except Exception:  # the next poll looks again
        log.warning("could not check the push channels after a poll", exc_info=True)
    if flagged:
        log.warning("push missed calendar changes; replacing %d channel(s) on the next run", len(flagged))
    return flagged


def keep_channels(
    store: object,
    service: Any,
    counter: OpCounter,
    connection_id: str,
    calendars: Iterable[str],
    target: PushTarget,
    now: datetime,
) -> ChannelReport | None:
    """``maintain`` from an events run (its Calendar service and counter); never fails the run."""
    if not isinstance(store, WatchChannelStore):
        return None
    try:
        return maintain(store, CalendarChannels(service, counter), connection_id, calendars, target, now)
    except Exception:  # a store hiccup: the next run tries again, polling covers the gap
        log.warning("keeping the push channels failed; the next run tries again", exc_info=True)
        return None
