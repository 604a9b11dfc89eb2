"""The CRM id a Google record carries (for records crmsync created there: People ``clientData``,
Calendar private extended properties) is what relinks a pair whose link is gone — Firestore lost or
emptied, Disconnect then reconnect — whatever either side edited meanwhile. When the pair's CRM
record is re-created (deleted in the CRM while edited in Google: the edit wins), it gets a new id,
and the old one left in Google points at a deleted record: the next relink took the Google record
for one of its own and copied each record to the other side (two CRM records and two Google
records; under the ``delete`` delete-conflict rule it deleted the Google record instead). So a
Google record that carries a CRM id carries its pair's current one: a step that keeps such a pair
linked also writes the current id into Google. Pure, no I/O (part of reconcile)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from ..model.kinds import Side
from ..model.link import Link
from ..model.settings import KindSettings, UpdateRule
from ..ports import Change
from .apply import Applied
from .plan import Op, Rule, Step, Versions, Write, sides
from .table import rules_for, writable


def old_ids(applied: Applied, google: Mapping[str, Change]) -> list[Link]:
    """Links to CRM records this run's creates made for Google records that carry another CRM id
    (our copy of a CRM record deleted since, created anew in the CRM): re-read and merged again in
    the same run, which writes the new id into them."""
    return [
        lk
        for lk in applied.crm_created
        if (g := google.get(lk.google_id)) is not None and g.crm_id_hint not in (None, lk.crm_id)
    ]


def _moved(crm_id: str | None, g: Change | None, settings: KindSettings) -> bool:
    """Whether Google's record ``g`` carries another CRM id than ``crm_id``, its pair's."""
    return (
        crm_id is not None
        and g is not None
        and g.canon is not None
        and g.in_scope
        and g.error is None
        and g.crm_id_hint is not None
        and g.crm_id_hint != crm_id
        and writable(settings, Side.GOOGLE)
        and rules_for(settings, Side.GOOGLE)[1] is not UpdateRule.NEVER  # the admin's "never update Google"
    )


def carrying_crm_id(step: Step, google: Mapping[str, Change], settings: KindSettings) -> Step:
    """``step``, with the pair's CRM id written into its Google record if that carries another
    (in the step's Google update, or one of its own)."""
    g = google.get(step.google_id) if step.google_id is not None else None
    if step.base is None or step.google.stale or not _moved(step.crm_id, g, settings):
        return step
    assert g is not None and g.canon is not None
    own = step.write_to(Side.GOOGLE)
    if own is not None and own.op is not Op.UPDATE:
        return step  # a create carries the id anyway; a deleted record needs none
    write = (
        replace(own, crm_id=step.crm_id)
        if own is not None
        else Write(Op.UPDATE, Side.GOOGLE, {}, dict(step.google.after or g.canon), crm_id=step.crm_id)
    )
    return replace(
        step, writes=tuple(write if w is own else w for w in step.writes) + (() if own is not None else (write,))
    )


def moved_id_step(link: Link, google: Mapping[str, Change], settings: KindSettings, versions: Versions) -> Step | None:
    """For a pair where nothing else changed: a step giving its Google record the pair's CRM id, if
    that record carries another (a pair re-created in the CRM before this was written)."""
    if link.side(Side.GOOGLE).parked or not _moved(link.crm_id, google.get(link.google_id), settings):
        return None
    step = Step(
        Rule.CRM_ID_MOVED,
        link,
        *sides(link.crm_id, link.google_id, versions),
        base=link.base,
        created_by=link.created_by,
    )
    return carrying_crm_id(step, google, settings)
