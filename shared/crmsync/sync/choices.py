""" "Use the other value" for a reported conflict, as a plan step: the value that lost is written to
both sides and becomes the pair's agreed value — only if neither side changed that field since the
conflict was settled (else the choice is stale: the user sees it was not used). Pure, no I/O."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from ..model.kinds import Kind, Side
from ..model.link import Link, effective
from ..model.names import record_name
from ..model.settings import KindSettings
from ..ports import Change
from .approvals import ValueChoice
from .plan import Op, Rule, Step, Versions, Write, sides
from .table import writable


class Outcome(StrEnum):
    APPLIED = "applied"  # written to both sides (or both already held it)
    STALE = "stale"  # a side changed the field since, or the pair is gone: not used
    BLOCKED = "blocked"  # the settings let crmsync write into only one side


@dataclass(frozen=True)
class Decision:
    """What a run does with one choice: a step to apply, or why not."""

    choice: ValueChoice
    outcome: Outcome
    step: Step | None = None
    name: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "crm_id": self.choice.crm_id,
            "google_id": self.choice.google_id,
            "field": self.choice.field,
            "value": self.choice.value,
            "source": self.choice.source.value,
            "name": self.name,
            "outcome": self.outcome.value,
            "applied": self.outcome is Outcome.APPLIED,
        }


def decide(
    kind: Kind,
    choice: ValueChoice,
    link: Link | None,
    crm: Mapping[str, Change],
    google: Mapping[str, Change],
    settings: KindSettings,
) -> Decision:
    """The step that writes ``choice.value`` into both sides of its pair, if the choice still holds."""
    if link is None or link.google_id != choice.google_id:
        return Decision(choice, Outcome.STALE)
    name = record_name(kind, link.base)
    c, g = crm.get(link.crm_id), google.get(link.google_id)
    if c is None or g is None or c.canon is None or g.canon is None or not (c.in_scope and g.in_scope):
        return Decision(choice, Outcome.STALE, name=name)
    now = {
        Side.CRM: effective(c.canon, link.side(Side.CRM).held, link.base),
        Side.GOOGLE: effective(g.canon, link.side(Side.GOOGLE).held, link.base),
    }
    field = choice.field
    held = {now[Side.CRM].get(field), now[Side.GOOGLE].get(field)}
    agreed = link.base.get(field)
    if agreed == choice.value and held == {choice.value}:
        return Decision(choice, Outcome.APPLIED, name=name)  # an earlier run wrote it already
    if agreed != choice.replaces or held != {choice.replaces}:
        return Decision(choice, Outcome.STALE, name=name)
    if not (writable(settings, Side.CRM) and writable(settings, Side.GOOGLE)):
        return Decision(choice, Outcome.BLOCKED, name=name)
    fields = {field: choice.value}
    after = {side: {**record, **fields} for side, record in now.items()}
    step = Step(
        Rule.USER_CHOICE,
        link,
        *sides(link.crm_id, link.google_id, Versions(c.version, g.version), after=after),
        tuple(Write(Op.UPDATE, side, fields, after[side]) for side in (Side.GOOGLE, Side.CRM)),
        base={**link.base, **fields},
        created_by=link.created_by,
    )
    return Decision(choice, Outcome.APPLIED, step, name)
