"""Every Firestore query the code issues, declared once.

The Firestore adapter builds its queries from these declarations, and the
Terraform tests check that ``terraform/firestore.tf`` has a composite index for
each one that needs it, so code and indexes cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Order = Literal["ASCENDING", "DESCENDING"]


@dataclass(frozen=True)
class QueryField:
    path: str
    order: Order = "ASCENDING"


@dataclass(frozen=True)
class Query:
    """One query shape: equality fields first, then range/order fields."""

    name: str
    collection: str  # collection id (or collection group id)
    scope: Literal["COLLECTION", "COLLECTION_GROUP"]
    equality: tuple[str, ...]
    ordered: tuple[QueryField, ...]
    select: tuple[str, ...] = ()  # a projection: only these field paths are returned (empty: whole documents)

    @property
    def needs_composite_index(self) -> bool:
        """Equality-only queries are served by merging automatic single-field
        indexes; an order or range after an equality needs a composite index."""
        return bool(self.ordered) and len(self.equality) + len(self.ordered) > 1


CONNECTIONS = "connections"
LINKS = "links"
RUNS = "runs"
OAUTH_STATES = "oauth_states"
WATCH_CHANNELS = "watch_channels"

# Fan-out: active connections due for a sync, oldest first.
DUE_CONNECTIONS = Query(
    name="due_connections",
    collection=CONNECTIONS,
    scope="COLLECTION",
    equality=("status",),
    ordered=(QueryField("next_sync_at"),),
)

# Fan-out, partitioned: one shard of the due connections, reading only what the tick needs.
# ``due_shard`` is a store-only field derived from the connection id (store/due.py).
DUE_SHARD_FIELDS = ("next_sync_at", "settings.interval_minutes", "quiet_runs")
DUE_CONNECTIONS_BY_SHARD = Query(
    name="due_connections_by_shard",
    collection=CONNECTIONS,
    scope="COLLECTION",
    equality=("status", "due_shard"),
    ordered=(QueryField("next_sync_at"),),
    select=DUE_SHARD_FIELDS,
)

# Every connection in document-id order, reading only its shard (the due_shard backfill).
CONNECTION_SHARDS = Query(
    name="connection_shards",
    collection=CONNECTIONS,
    scope="COLLECTION",
    equality=(),
    ordered=(),
    select=("due_shard",),
)

# Links of one kind looked up by Google id (links are stored under
# connections/{id}/links/{kind}:{crm_id}; lookup by CRM id is a direct get).
LINKS_BY_GOOGLE_ID = Query(
    name="links_by_google_id",
    collection=LINKS,
    scope="COLLECTION",
    equality=("kind", "google_id"),
    ordered=(),
)

# Every link of one kind, for full listings (streamed in document-id order).
LINKS_OF_KIND = Query(
    name="links_of_kind",
    collection=LINKS,
    scope="COLLECTION",
    equality=("kind",),
    ordered=(),
)

# Admin list of connections by status, newest first.
CONNECTIONS_BY_STATUS = Query(
    name="connections_by_status",
    collection=CONNECTIONS,
    scope="COLLECTION",
    equality=("status",),
    ordered=(QueryField("created_at", "DESCENDING"),),
)

# The connection of one CRM user (equality only: the automatic single-field index serves it).
CONNECTION_BY_CRM_USER = Query(
    name="connection_by_crm_user",
    collection=CONNECTIONS,
    scope="COLLECTION",
    equality=("crm_user_id",),
    ordered=(),
)

# The connections joined to one Google account (one account, one connection unless shared).
CONNECTIONS_BY_GOOGLE_SUBJECT = Query(
    name="connections_by_google_subject",
    collection=CONNECTIONS,
    scope="COLLECTION",
    equality=("google_subject",),
    ordered=(),
)

# Admin list of every connection, newest first (single-field order).
CONNECTIONS_NEWEST = Query(
    name="connections_newest",
    collection=CONNECTIONS,
    scope="COLLECTION",
    equality=(),
    ordered=(QueryField("created_at", "DESCENDING"),),
)

# The run log of one connection, newest first (single-field order within the subcollection).
RECENT_RUNS = Query(
    name="recent_runs",
    collection=RUNS,
    scope="COLLECTION",
    equality=(),
    ordered=(QueryField("started_at", "DESCENDING"),),
)

# The Calendar push channels of one connection (equality only: the automatic index serves it).
WATCH_CHANNELS_OF_CONNECTION = Query(
    name="watch_channels_of_connection",
    collection=WATCH_CHANNELS,
    scope="COLLECTION",
    equality=("connection_id",),
    ordered=(),
)

QUERIES: tuple[Query, ...] = (
    DUE_CONNECTIONS,
    DUE_CONNECTIONS_BY_SHARD,
    CONNECTION_SHARDS,
    LINKS_BY_GOOGLE_ID,
    LINKS_OF_KIND,
    CONNECTIONS_BY_STATUS,
    CONNECTION_BY_CRM_USER,
    CONNECTIONS_BY_GOOGLE_SUBJECT,
    CONNECTIONS_NEWEST,
    RECENT_RUNS,
    WATCH_CHANNELS_OF_CONNECTION,
)

LINK_NONCES = "link_nonces"
INTENTS = "intents"  # connections/{id}/intents/{key}: creation intents of Google Tasks inserts

# Collections whose documents expire through a TTL policy on this field.
TTL_FIELDS: dict[str, str] = {
    OAUTH_STATES: "expires_at",
    RUNS: "expires_at",
    LINK_NONCES: "expires_at",
    INTENTS: "expires_at",
}
