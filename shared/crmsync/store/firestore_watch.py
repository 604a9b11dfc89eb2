"""Push channels in Firestore: watch_channels/{channel id}; message numbers accepted in a transaction."""

from __future__ import annotations

from datetime import datetime

from google.cloud import firestore

from crmsync.model.watch import WatchChannel

from . import firestore_io as io
from .codec import check_doc_id
from .queries import WATCH_CHANNELS
from .spec import Meter
from .watch import channel_doc, channel_from_doc, message_args, of_connection_spec


class FirestoreWatchChannels:
    """The WatchChannelStore half of FirestoreStore."""

    _client: firestore.Client
    _meter: Meter

    def _channel(self, channel_id: str) -> io.DocumentReference:
        return self._client.collection(WATCH_CHANNELS).document(check_doc_id("watch channel id", channel_id))

    def put_watch_channel(self, channel: WatchChannel) -> None:
        """Create or replace a channel."""
        self._channel(channel.id).set(channel_doc(channel))
        self._meter.commit(writes=1)

    def get_watch_channel(self, channel_id: str) -> WatchChannel | None:
        """The channel, or None."""
        self._meter.gets(1)
        doc = io.get(self._channel(channel_id))
        return None if doc is None else channel_from_doc(doc, channel_id)

    def watch_channels(self, connection_id: str) -> list[WatchChannel]:
        """Every stored channel of a connection."""
        rows = io.stream(self._client.collection(WATCH_CHANNELS), of_connection_spec(connection_id))
        self._meter.query(len(rows))
        return [channel_from_doc(doc, cid) for cid, doc in rows]

    def delete_watch_channel(self, channel_id: str) -> None:
        """Forget a channel; missing is fine."""
        self._channel(channel_id).delete()
        self._meter.commit(deletes=1)

    def accept_watch_message(self, channel_id: str, number: int, at: datetime) -> bool:
        """Record ``number`` if it is greater than every number accepted before (in a transaction)."""
        key, number, at = message_args(channel_id, number, at)
        ref = self._channel(key)

        def body(tx: io.Transaction) -> bool:
            self._meter.gets(1)
            doc = io.get(ref, tx)
            if doc is None or int(doc.get("last_message", 0)) >= number:
                return False
            tx.update(ref, {"last_message": number, "last_message_at": at})
            return True

        try:
            accepted = io.run_in_transaction(self._client, body)
        except (ValueError, io.Aborted):  # still losing to other deliveries after run_in_transaction's patience
            self._meter.gets(1)
            doc = io.get(ref)
            if doc is not None and int(doc.get("last_message", 0)) >= number:
                return False  # a concurrent delivery of this message (or a later one) was accepted
            raise
        self._meter.commit(writes=int(accepted))
        return accepted

    def flag_watch_channel(self, channel_id: str) -> None:
        """Mark the channel suspect; missing is fine."""
        try:
            self._channel(channel_id).update({"suspect": True})
        except io.NotFound:
            return
        self._meter.commit(writes=1)
