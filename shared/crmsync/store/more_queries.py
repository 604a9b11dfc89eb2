"""Queries the stores issue that ``queries.py`` does not declare yet.

None of them needs a composite index (one equality, or one order with no filter), so the
Terraform index check is unaffected. They belong in ``queries.py``; until they are moved
there they are declared here, in the same form, so every query still has one declaration.
"""

from __future__ import annotations

from .queries import CONNECTIONS, RUNS, Query, QueryField

# The connection of one CRM user (equality only: served by the automatic single-field index).
CONNECTION_BY_CRM_USER = Query(
    name="connection_by_crm_user",
    collection=CONNECTIONS,
    scope="COLLECTION",
    equality=("crm_user_id",),
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

MORE_QUERIES: tuple[Query, ...] = (CONNECTION_BY_CRM_USER, CONNECTIONS_NEWEST, RECENT_RUNS)
assert not any(q.needs_composite_index for q in MORE_QUERIES)
