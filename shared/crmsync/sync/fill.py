"""Newly mapped fields filled from the side the admin chose (``FieldMap.fill_from``).

On the run after a mapping change, a linked pair whose base holds no value for such a field yet,
while the chosen side holds one and the other side a different one, takes the other side's value
as its base for that field: the three-way merge then reads the chosen side as the one that changed
and copies its value over, with no conflict. Nothing else of the merge changes: a value on one side
only is copied as always, and an empty value on the chosen side never clears the other (the base
is left as it was, so the other side's value is simply new there)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ..model.kinds import Side
from ..model.link import Link
from ..ports import Change


def filled_bases(
    links: Sequence[Link], crm: Mapping[str, Change], google: Mapping[str, Change], fill: Mapping[str, Side]
) -> list[Link]:
    """``links`` with the base of each field in ``fill`` (canonical key -> side to fill from) set
    to the other side's value where the base has none and the sides differ (see the module)."""
    if not fill:
        return list(links)
    out = []
    for link in links:
        changes = {Side.CRM: crm.get(link.crm_id), Side.GOOGLE: google.get(link.google_id)}
        seen = {s: (c.canon if c is not None else None) for s, c in changes.items()}
        base = dict(link.base)
        for field, side in fill.items():
            chosen, other = seen[side], seen[side.other]
            if chosen is None or other is None or base.get(field) is not None:
                continue
            if chosen.get(field) is not None and other.get(field) is not None and chosen[field] != other[field]:
                base[field] = other[field]
        out.append(link if base == link.base else link.model_copy(update={"base": base}))
    return out
