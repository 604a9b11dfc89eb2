"""What one kind's sync did (``KindReport``), and the error that stops a run part-way with it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import TransientError
from ..model.kinds import Kind


@dataclass
class KindReport:
    """What one kind's sync did, for the run summary and the settings page."""

    kind: Kind
    listed: dict[str, int] = field(default_factory=dict)
    writes: dict[str, int] = field(default_factory=dict)
    conflicts: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    full: bool = False
    complete: bool = False  # every change applied and the cursors advanced
    incomplete: list[str] = field(default_factory=list)  # why not complete (never empty when not complete)
    time_zone: str | None = None  # the Google side's own zone (a calendar's), for showing times to the user
    approved_deletes: int = 0  # deletions past the safety limit the user approved ("Delete them")
    restored: dict[str, int] = field(default_factory=dict)  # per side: records the user kept ("Keep them")
    choices: list[dict[str, Any]] = field(default_factory=list)  # "use the other value": what became of each
    names: dict[str, str] = field(default_factory=dict)  # "side id" -> name, of the records noted or failing
    cleared: list[str] = field(default_factory=list)  # "side id" of records earlier runs could not sync that now did

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "listed": self.listed,
            "writes": self.writes,
            "conflicts": self.conflicts,
            "notes": self.notes,
            "errors": self.errors,
            "full": self.full,
            "complete": self.complete,
            **({"incomplete": self.incomplete} if self.incomplete else {}),
            **({"time_zone": self.time_zone} if self.time_zone else {}),
            "approved_deletes": self.approved_deletes,
            **({"restored": self.restored} if self.restored else {}),
            **({"choices": self.choices} if self.choices else {}),
            **({"names": self.names} if self.names else {}),
            **({"cleared": self.cleared} if self.cleared else {}),
        }


class RunInterrupted(TransientError):
    """A transient failure stopped a run part-way (retry it): the links of the writes that went
    out are saved, and ``report`` says what the run did, conflicts it resolved included."""

    def __init__(self, cause: TransientError, report: KindReport) -> None:
        super().__init__(str(cause), retry_after=cause.retry_after)
        self.report = report
