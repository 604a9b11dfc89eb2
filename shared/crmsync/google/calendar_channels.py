"""Calendar push channels on Google: ``events.watch`` opens one on a calendar, ``channels.stop`` ends it.

Errors are crmsync's (``google/errors.py``): a channel Google no longer knows is not an error to stop.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from ..ports import OpCounter
from .errors import NotFound
from .retry import Caller

WATCH = "calendar.events.watch"
STOP = "calendar.channels.stop"


@dataclass(frozen=True)
class OpenedChannel:
    """What Google answered to ``events.watch``."""

    resource_id: str
    expires_at: datetime


class CalendarChannels:
    """Opens and stops push channels with one user's Calendar service (retries transient failures)."""

    def __init__(self, service: Any, counter: OpCounter | None = None, *, attempts: int = 3) -> None:
        self.service = service
        self.counter = counter or OpCounter()
        self.attempts = attempts
        self._call = Caller(self.counter, attempts=attempts)

    def watch(
        self, calendar_id: str, channel_id: str, address: str, token: str, ttl: timedelta, now: datetime
    ) -> OpenedChannel:
        """Open a channel on the calendar's events; Google may shorten the life asked for."""
        body = {
            "id": channel_id,
            "type": "web_hook",
            "address": address,
            "token": token,
            "params": {"ttl": str(int(ttl.total_seconds()))},
        }
        reply = self._call(WATCH, lambda: self.service.events().watch(calendarId=calendar_id, body=body))
        raw = reply.get("expiration")
        expires = datetime.fromtimestamp(int(raw) / 1000, UTC) if raw else now + ttl
        return OpenedChannel(str(reply["resourceId"]), expires)

    def stop(self, channel_id: str, resource_id: str) -> bool:
        """End a channel; False when Google no longer knows it (expired or stopped already)."""
        try:
            self._call(STOP, lambda: self.service.channels().stop(body={"id": channel_id, "resourceId": resource_id}))
        except NotFound:
            return False
        return True
