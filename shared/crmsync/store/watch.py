"""Stored Calendar push channels (watch_channels/{channel id}): the contract, the documents and the query.

The push endpoint reads one channel by id (a direct get); the lifecycle lists a connection's channels
(an equality query the automatic single-field index serves). A message number is accepted at most once
and only in increasing order (``accept_watch_message``), which is what makes a replayed notification
change nothing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from crmsync.model.watch import WatchChannel

from .codec import _decode, check_aware, check_doc_id, to_doc
from .contract import StoreError
from .queries import WATCH_CHANNELS, WATCH_CHANNELS_OF_CONNECTION
from .spec import Spec
from .watch_port import MAX_CHANNELS_PER_CONNECTION


def channel_doc(channel: WatchChannel) -> dict[str, Any]:
    """The stored document of a channel."""
    check_doc_id("watch channel id", channel.id)
    return to_doc(channel.model_dump(mode="python"), f"watch channel {channel.id}")


def channel_from_doc(doc: dict[str, Any], channel_id: str) -> WatchChannel:
    """A channel from its stored document."""
    channel = _decode(WatchChannel, doc, f"{WATCH_CHANNELS}/{channel_id}")
    assert isinstance(channel, WatchChannel)
    return channel


def message_args(channel_id: str, number: int, at: datetime) -> tuple[str, int, datetime]:
    """Checked arguments of ``accept_watch_message``."""
    if isinstance(number, bool) or not isinstance(number, int) or number < 1:
        raise StoreError(f"message number must be a positive integer, got {number!r}")
    return check_doc_id("watch channel id", channel_id), number, check_aware("at", at)


def of_connection_spec(connection_id: str) -> Spec:
    """The channels of one connection."""
    check_doc_id("connection id", connection_id)
    return Spec(WATCH_CHANNELS_OF_CONNECTION, {"connection_id": connection_id}, limit=MAX_CHANNELS_PER_CONNECTION)
