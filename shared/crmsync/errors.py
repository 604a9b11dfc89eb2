"""crmsync's error hierarchy: transient (retry the run), permanent per record
(recorded, the run goes on), permanent per connection (stop until a person acts)."""

from __future__ import annotations


class CrmSyncError(Exception):
    """Base of every crmsync error."""


class TransientError(CrmSyncError):
    """Worth retrying later (429, 5xx, timeouts). ``retry_after`` in seconds if known."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ConnectionError_(CrmSyncError):
    """The connection cannot sync until a person acts (revoked grant, missing scope)."""


class NeedsReauth(ConnectionError_):
    """Google refused the refresh token (invalid_grant): the user must reconnect."""


class SafetyStop(CrmSyncError):
    """A named safety check stopped the run before it did something drastic."""


class MassDeleteBlocked(SafetyStop):
    """The run would delete more than the allowed share of linked records."""

    def __init__(self, kind: str, deletes: int, linked: int, share: float) -> None:
        super().__init__(
            f"{kind}: stopped before deleting {deletes} of {linked} linked records "
            f"(more than the allowed {share:.0%}); check the data, then raise the limit in settings to proceed"
        )
        self.kind = kind
        self.deletes = deletes
        self.linked = linked
