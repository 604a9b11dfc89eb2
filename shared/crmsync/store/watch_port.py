"""The part of a state store that keeps Calendar push channels (implemented in store/*_watch.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol, runtime_checkable

from crmsync.model.watch import WatchChannel

MAX_CHANNELS_PER_CONNECTION = 100


@runtime_checkable
class WatchChannelStore(Protocol):
    """What a state store offers for push channels."""

    def put_watch_channel(self, channel: WatchChannel) -> None:
        """Create or replace a channel."""
        ...

    def get_watch_channel(self, channel_id: str) -> WatchChannel | None:
        """The channel, or None."""
        ...

    def watch_channels(self, connection_id: str) -> list[WatchChannel]:
        """Every stored channel of a connection (at most MAX_CHANNELS_PER_CONNECTION)."""
        ...

    def delete_watch_channel(self, channel_id: str) -> None:
        """Forget a channel; missing is fine."""
        ...

    def accept_watch_message(self, channel_id: str, number: int, at: datetime) -> bool:
        """Record message ``number`` as the channel's latest if it is greater than every one accepted
        before (atomic); False for a replayed or older number, or a channel that is gone."""
        ...

    def flag_watch_channel(self, channel_id: str) -> None:
        """Mark the channel suspect (push missed a change): the next events run replaces it. Missing is fine."""
        ...
