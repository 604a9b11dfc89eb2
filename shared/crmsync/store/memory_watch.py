"""Push channels in the in-memory (and SQLite) store: the same documents, checks and counts as Firestore."""

from __future__ import annotations

from datetime import datetime

from crmsync.model.watch import WatchChannel

from .codec import check_doc_id
from .memory_links import CollectionPath, Documents
from .queries import WATCH_CHANNELS
from .spec import Meter
from .watch import channel_doc, channel_from_doc, message_args, of_connection_spec

_CHANNELS: CollectionPath = (WATCH_CHANNELS,)


class MemoryWatchChannels:
    """The WatchChannelStore half of MemoryStore."""

    _docs: Documents
    _meter: Meter

    def put_watch_channel(self, channel: WatchChannel) -> None:
        """Create or replace a channel."""
        self._docs.set(_CHANNELS, channel.id, channel_doc(channel))
        self._meter.commit(writes=1)

    def get_watch_channel(self, channel_id: str) -> WatchChannel | None:
        """The channel, or None."""
        self._meter.gets(1)
        doc = self._docs.get(_CHANNELS, check_doc_id("watch channel id", channel_id))
        return None if doc is None else channel_from_doc(doc, channel_id)

    def watch_channels(self, connection_id: str) -> list[WatchChannel]:
        """Every stored channel of a connection."""
        rows = self._docs.run(_CHANNELS, of_connection_spec(connection_id))
        self._meter.query(len(rows))
        return [channel_from_doc(doc, cid) for cid, doc in rows]

    def delete_watch_channel(self, channel_id: str) -> None:
        """Forget a channel; missing is fine."""
        self._docs.delete(_CHANNELS, check_doc_id("watch channel id", channel_id))
        self._meter.commit(deletes=1)

    def accept_watch_message(self, channel_id: str, number: int, at: datetime) -> bool:
        """Record ``number`` if it is greater than every number accepted before (atomic)."""
        key, number, at = message_args(channel_id, number, at)
        with self._docs.lock:
            self._meter.gets(1)
            doc = self._docs.get(_CHANNELS, key)
            if doc is None or int(doc.get("last_message", 0)) >= number:
                return False
            self._docs.set(_CHANNELS, key, {**doc, "last_message": number, "last_message_at": at})
        self._meter.commit(writes=1)
        return True

    def flag_watch_channel(self, channel_id: str) -> None:
        """Mark the channel suspect; missing is fine."""
        key = check_doc_id("watch channel id", channel_id)
        with self._docs.lock:
            doc = self._docs.get(_CHANNELS, key)
            if doc is not None:
                self._docs.set(_CHANNELS, key, {**doc, "suspect": True})
        self._meter.commit(writes=1)
