"""The names of the records a run reports as left out or failing, so the page never shows an id
where a name exists: from the record as listed (or what its side holds when it could not be read),
else from the pair's agreed record."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from ..model.kinds import Kind, Side
from ..model.names import record_name
from ..ports import Change
from .plan import Step


def key(side: Side, record_id: str) -> str:
    """How a report names a record: its side and id, as its notes start (``google people/c1``)."""
    return f"{side.value} {record_id}"


def names_of(
    kind: Kind,
    wanted: Iterable[tuple[Side, str]],
    listed: Mapping[Side, Mapping[str, Change]],
    steps: Iterable[Step],
) -> dict[str, str]:
    """The name of each wanted record that has one, by ``key``."""
    wanted = set(wanted)
    if not wanted:
        return {}
    agreed: dict[tuple[Side, str], str] = {}
    for step in steps:
        name = record_name(kind, step.base or (step.link.base if step.link is not None else None))
        for side, rid in ((Side.CRM, step.crm_id), (Side.GOOGLE, step.google_id)):
            if name and rid and (side, rid) in wanted:
                agreed[(side, rid)] = name
    out: dict[str, str] = {}
    for side, rid in wanted:
        change = listed.get(side, {}).get(rid)
        name = (change.name or record_name(kind, change.canon)) if change is not None else None
        if name or (side, rid) in agreed:
            out[key(side, rid)] = name or agreed[(side, rid)]
    return out
