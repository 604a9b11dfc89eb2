"""Behaviour both stores share: input checks, document shapes, lease rule, query specs and paging."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from crmsync.model.state import Connection, ConnectionStatus, Lease

from .codec import (
    Doc,
    check_aware,
    check_doc_id,
    connection_from_doc,
    decode_page_cursor,
    encode_page_cursor,
    from_value,
    to_doc,
)
from .contract import Leased, Page, StoreError, check_limit
from .queries import (
    CONNECTION_BY_CRM_USER,
    CONNECTIONS,
    CONNECTIONS_BY_GOOGLE_SUBJECT,
    CONNECTIONS_BY_STATUS,
    CONNECTIONS_NEWEST,
    DUE_CONNECTIONS,
    RECENT_RUNS,
)
from .spec import Spec

CURSORS = "cursors"  # connections/{id}/cursors/{kind}
LINK_NONCES = "link_nonces"  # TTL on expires_at (not yet in queries.TTL_FIELDS)
SECRETS = "secrets"  # secrets/{connection id}: the envelope-encrypted refresh token
BLOB_FIELD = "refresh_token_blob"
CONFIG = "config"
GLOBAL_CONFIG_ID = "global"
MAX_BLOB_BYTES = 64 * 1024


def check_lease_args(holder: str, ttl: timedelta, now: datetime) -> datetime:
    """Validate lease arguments and return the new lease's expiry (UTC)."""
    if not isinstance(holder, str) or not holder:
        raise StoreError(f"lease holder must be a non-empty string, got {holder!r}")
    if not isinstance(ttl, timedelta) or ttl <= timedelta(0):
        raise StoreError(f"lease ttl must be a positive timedelta, got {ttl!r}")
    return check_aware("now", now) + ttl


def lease_is_free(lease: dict[str, Any] | None, holder: str, now: datetime) -> bool:
    """A lease can be taken when there is none, it has expired, or ``holder`` already holds it."""
    if not lease:
        return True
    return bool(lease.get("holder") == holder or lease["expires_at"] <= now)


def lease_step(
    doc: Doc | None,
    where: str,
    holder: str,
    now: datetime,
    expires_at: datetime,
    admit: Callable[[Connection], bool] | None,
) -> tuple[Leased, Doc | None]:
    """What ``lease_connection`` finds in the connection document, and the update to write (None: none)."""
    if doc is None:
        return Leased(None, False), None
    connection = connection_from_doc(doc, where)
    if (admit is not None and not admit(connection)) or not lease_is_free(doc.get("lease"), holder, now):
        return Leased(connection, False), None
    lease = Lease(holder=holder, expires_at=expires_at)
    return Leased(connection.model_copy(update={"lease": lease}), True), {"lease": lease.model_dump()}


def finish_step(doc: Doc, holder: str, changes: Doc, take_rerun: bool) -> tuple[Doc, bool]:
    """The update ``finish_run`` writes (the fields, the lease dropped if ``holder``'s, the rerun flag
    taken if asked) and whether a rerun was asked for."""
    update = dict(changes)
    lease = doc.get("lease")
    if lease and lease.get("holder") == holder:
        update["lease"] = None
    rerun = bool(take_rerun and doc.get("rerun_requested"))
    if rerun:
        update["rerun_requested"] = False
    return update, rerun


def run_doc(run_id: str, summary: dict[str, Any], expires_at: datetime) -> Doc:
    """The run-log document of one run (``started_at`` orders the log; ``expires_at`` drives the TTL)."""
    check_doc_id("run id", run_id)
    if not isinstance(summary, dict):
        raise StoreError(f"run summary must be a dict, got {type(summary).__name__}")
    started = summary.get("started_at")
    if not isinstance(started, datetime):
        raise StoreError("run summary needs a 'started_at' datetime: the run log is ordered by it")
    return to_doc({**summary, "run_id": run_id, "expires_at": check_aware("expires_at", expires_at)}, f"run {run_id}")


def runs_spec(limit: int) -> Spec:
    """The newest ``limit`` runs."""
    return Spec(RECENT_RUNS, {}, limit=check_limit("limit", limit, 1000))


def oauth_state_doc(data: dict[str, Any], expires_at: datetime) -> Doc:
    """The stored form of an OAuth state."""
    if not isinstance(data, dict):
        raise StoreError(f"OAuth state data must be a dict, got {type(data).__name__}")
    return to_doc({"data": data, "expires_at": check_aware("expires_at", expires_at)}, "OAuth state")


def oauth_state_result(doc: Doc | None, now: datetime) -> dict[str, Any] | None:
    """The state's data if it existed and has not expired at ``now``."""
    if doc is None or doc["expires_at"] <= now:
        return None
    data = from_value(doc["data"])
    assert isinstance(data, dict)
    return data


def check_blob(blob: bytes) -> bytes:
    """Return the blob if it is bytes of a storable size."""
    if not isinstance(blob, bytes) or not blob:
        raise StoreError(f"token blob must be non-empty bytes, got {type(blob).__name__}")
    if len(blob) > MAX_BLOB_BYTES:
        raise StoreError(f"token blob is {len(blob)} bytes; the limit is {MAX_BLOB_BYTES}")
    return blob


def check_config(config: dict[str, Any]) -> Doc:
    """The storable form of the global config."""
    if not isinstance(config, dict):
        raise StoreError(f"global config must be a dict, got {type(config).__name__}")
    return to_doc(config, "global config")


def by_crm_user_spec(crm_user_id: str) -> Spec:
    """The connection of one CRM user."""
    if not isinstance(crm_user_id, str) or not crm_user_id:
        raise StoreError(f"CRM user id must be a non-empty string, got {crm_user_id!r}")
    return Spec(CONNECTION_BY_CRM_USER, {"crm_user_id": crm_user_id}, limit=1)


def by_google_subject_spec(subject: str, limit: int) -> Spec:
    """The connections joined to one Google account."""
    if not isinstance(subject, str) or not subject:
        raise StoreError(f"Google subject must be a non-empty string, got {subject!r}")
    return Spec(CONNECTIONS_BY_GOOGLE_SUBJECT, {"google_subject": subject}, limit=check_limit("limit", limit, 100))


def listing_spec(status: ConnectionStatus | None, limit: int, start_after: str | None) -> Spec:
    """Connections newest first (CONNECTIONS_BY_STATUS when a status is given)."""
    after = decode_page_cursor(start_after) if start_after is not None else None
    limit = check_limit("limit", limit)
    if status is None:
        return Spec(CONNECTIONS_NEWEST, {}, after=after, limit=limit)
    try:
        value = ConnectionStatus(status).value
    except ValueError as err:
        allowed = ", ".join(s.value for s in ConnectionStatus)
        raise StoreError(f"unknown connection status {status!r}; use one of {allowed}") from err
    return Spec(CONNECTIONS_BY_STATUS, {"status": value}, after=after, limit=limit)


def due_spec(now: datetime, page_size: int, start_after: str | None) -> Spec:
    """Active connections due at ``now``, oldest first (DUE_CONNECTIONS)."""
    after = decode_page_cursor(start_after) if start_after is not None else None
    return Spec(
        DUE_CONNECTIONS,
        {"status": ConnectionStatus.ACTIVE.value},
        at_most=check_aware("now", now),
        after=after,
        limit=check_limit("page_size", page_size),
    )


def connection_page(rows: list[tuple[str, Doc]], spec: Spec, order_field: str) -> Page[Connection]:
    """A page of connections; a full page carries the cursor of its last row."""
    items = [connection_from_doc(doc, f"{CONNECTIONS}/{doc_id}") for doc_id, doc in rows]
    full = spec.limit is not None and len(rows) == spec.limit
    next_cursor = encode_page_cursor(from_value(rows[-1][1][order_field]), rows[-1][0]) if full and rows else None
    return Page(items=items, next_cursor=next_cursor)
