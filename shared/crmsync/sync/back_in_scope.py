"""A parked pair (kept linked while a side was out of the sync's scope) whose two sides are both listed
in scope again, neither changed from the base: it is an active pair again. Without this step the link
stayed parked, so a later delete on one side was read as the pair still being out of scope: the link
was dropped and the other record stayed in scope, unlinked, for good. Pure, no I/O (part of reconcile)."""

from __future__ import annotations

from ..model.kinds import Side
from ..model.link import Link
from ..ports import Change
from .plan import Rule, Step, Versions, sides


def _listed_in_scope(change: Change | None) -> bool:
    return change is not None and change.canon is not None and change.in_scope and change.error is None


def back_in_scope_step(link: Link, crm: Change | None, google: Change | None, versions: Versions) -> Step | None:
    """For a parked pair both of whose sides this run lists in scope and unchanged: a step that writes
    nothing and stores both sides as seen (no longer parked), or None."""
    if not link.parked or not (_listed_in_scope(crm) and _listed_in_scope(google)):
        return None
    assert crm is not None and crm.canon is not None and google is not None and google.canon is not None
    return Step(
        Rule.BACK_IN_SCOPE,
        link,
        *sides(link.crm_id, link.google_id, versions, after={Side.CRM: crm.canon, Side.GOOGLE: google.canon}),
        base=link.base,
        created_by=link.created_by,
    )
