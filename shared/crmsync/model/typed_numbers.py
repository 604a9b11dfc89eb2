"""How each side typed the phone numbers it holds, for one run (issue 12 point 3).

Phones are compared in their canonical form (E.164 when valid in the default region), but that
form is for comparison only: a number reaches the other side as it was typed (``(650) 253-0000``,
``030 1234567``), and a side keeps its own way of writing a number it already holds. Each side
notes the numbers it reads; a writer asks how the other side typed a number it is about to write.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from . import normalise as n
from .kinds import Side


@dataclass
class TypedNumbers:
    """Per side: canonical phone value -> the number as that side holds it (the first seen)."""

    region: str
    _typed: dict[Side, dict[str, str]] = field(default_factory=lambda: {Side.CRM: {}, Side.GOOGLE: {}})

    def note(self, side: Side, phones: Iterable[Mapping[str, Any]]) -> None:
        """Remember how ``side`` writes the numbers of one record it read (raw ``{value, ...}`` items)."""
        for item in phones:
            for key, typed in typed_forms([item], self.region).items():
                self._typed[side].setdefault(key, typed)

    def written(self, side: Side, value: str, own: Mapping[str, str] | None = None) -> str:
        """What ``side`` is sent for canonical phone ``value``: how the record already holds it
        (``own``, canonical -> typed), else how the other side typed it, else ``value`` itself."""
        if own and value in own:
            return own[value]
        return self._typed[side.other].get(value, value)


def typed_forms(phones: Iterable[Mapping[str, Any]], region: str) -> dict[str, str]:
    """Canonical value -> the number as typed, for raw ``{value, ...}`` phone items (unreadable ones left out)."""
    out: dict[str, str] = {}
    for item in phones:
        raw = str(item.get("value") or "").strip()
        if not raw:
            continue
        try:
            out.setdefault(n.phone(raw, region), raw)
        except n.InvalidValue:
            continue
    return out
