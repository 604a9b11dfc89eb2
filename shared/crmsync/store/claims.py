"""One Google account, one connection: the claim document both stores keep per Google account.

Checking "is this Google account joined to another CRM user?" with a query and then storing the
connection leaves a window in which two first connects of one account both pass. A claim closes it:
``google_accounts/{sha256(subject)}`` names the connection that holds the account and is taken in a
transaction (a lock in the memory store). A claim is free when there is none, when the caller
already holds it, when its holder is disconnected or gone, or when its holder was never stored and
the claim is older than ``CLAIM_GRACE`` (a connect that died between claiming and storing).
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Any

from crmsync.model.state import ConnectionStatus

from .codec import Doc, check_aware, check_doc_id

GOOGLE_ACCOUNTS = "google_accounts"
CLAIM_GRACE = timedelta(minutes=10)


def claim_id(subject: str) -> str:
    """The claim's document id: a hash, so the store never lists Google subjects in document ids."""
    if not isinstance(subject, str) or not subject:
        raise ValueError("a Google account claim needs the account's subject")
    return hashlib.sha256(subject.encode()).hexdigest()


def claim_doc(connection_id: str, now: datetime) -> Doc:
    """The claim that ``connection_id`` holds the account since ``now``."""
    return {"connection_id": check_doc_id("connection id", connection_id), "claimed_at": check_aware("now", now)}


def claim_is_free(claim: Doc | None, holder: Doc | None, connection_id: str, now: datetime) -> bool:
    """Whether ``connection_id`` may take the account, given the claim and its holder's connection document."""
    if claim is None or claim.get("connection_id") == connection_id:
        return True
    if holder is None:
        claimed_at: Any = claim.get("claimed_at")
        return not isinstance(claimed_at, datetime) or claimed_at + CLAIM_GRACE <= now
    return bool(holder.get("status") == ConnectionStatus.DISCONNECTED.value)


def holder_id(claim: Doc | None) -> str | None:
    """The connection a claim names, if it names one."""
    value = claim.get("connection_id") if claim else None
    return value if isinstance(value, str) and value else None
