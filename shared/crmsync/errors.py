"""crmsync's error hierarchy: transient (retry the run), permanent per record
(recorded, the run goes on), permanent per connection (stop until a person acts)."""

from __future__ import annotations

from datetime import datetime


class CrmSyncError(Exception):
    """Base of every crmsync error."""


class TransientError(CrmSyncError):
    """Worth retrying later (429, 5xx, timeouts). ``retry_after`` in seconds if known.

    ``quota`` names a used-up quota ("the project's daily Calendar quota"): then waiting
    ``retry_after`` (until it resets) is the cure, and retrying sooner only burns calls."""

    def __init__(self, message: str, retry_after: float | None = None, *, quota: str | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.quota = quota

    def wait_seconds(self, now: datetime) -> float | None:
        """Seconds from ``now`` until a retry can succeed (a quota's reset), if known."""
        return self.retry_after


def quota_wait(err: BaseException) -> TransientError | None:
    """The used-up quota behind ``err`` (itself or a cause it wraps), if any."""
    seen: set[int] = set()
    cur: BaseException | None = err
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        if isinstance(cur, TransientError) and cur.quota:
            return cur
        cur = cur.__cause__ or cur.__context__
    return None


class ConnectionError_(CrmSyncError):
    """The connection cannot sync until a person acts (revoked grant, missing scope)."""


class NeedsReauth(ConnectionError_):
    """Google refused the refresh token (invalid_grant): the user must reconnect."""


class KindStopped(CrmSyncError):
    """One kind cannot sync until a person acts; the run records why and the other kinds go on.

    ``setting`` names the setting to change when one is the cause (``event_options.read_calendars``)."""

    def __init__(self, message: str, *, setting: str | None = None) -> None:
        super().__init__(message)
        self.setting = setting


class SettingTargetGone(KindStopped):
    """A setting names something that no longer exists in Google (a calendar, a task list)."""


class KindBlocked(KindStopped):
    """The Google account may not use this API (its Workspace admin's policy, its account type)."""


class OperatorError(KindStopped):
    """The deployment is misconfigured (API not enabled, billing, OAuth client): the operator is
    alerted under the stable ``alert`` code; connections are kept, nothing asks users to reconnect."""

    def __init__(self, message: str, *, alert: str) -> None:
        super().__init__(message)
        self.alert = alert


class SafetyStop(KindStopped):
    """A named safety check stopped the run before it did something drastic."""


class MassDeleteBlocked(SafetyStop):
    """The run would delete more than the allowed share of linked records."""

    def __init__(
        self, kind: str, deletes: int, linked: int, share: float, records: list[dict[str, str | None]] | None = None
    ) -> None:
        super().__init__(
            f"{kind}: stopped before deleting {deletes} of {linked} linked records "
            f"(more than the allowed {share:.0%}); check the data, then raise the limit in settings to proceed"
        )
        self.kind = kind
        self.deletes = deletes
        self.linked = linked
        # What would have been deleted: {"side": where, "crm_id", "google_id", "name"} (a sample, for the user).
        self.records = records or []
