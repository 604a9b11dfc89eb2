"""The user's answers the next run applies, as kept in the kind's cursor (``Cursor.user_choices``;
what they mean and how a run applies them: ``sync/approvals.py``)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from .kinds import Side


class StopAnswer(StrEnum):
    DELETE = "delete"  # "Delete them"
    RESTORE = "restore"  # "Keep them (restore from the other side)"


class HeldRecord(BaseModel):
    """One record a stopped run would have deleted: where, and the pair's ids."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    side: Side
    crm_id: str | None
    google_id: str | None

    @classmethod
    def of(cls, record: Mapping[str, Any]) -> HeldRecord:
        return cls(side=Side(str(record.get("side"))), crm_id=record.get("crm_id"), google_id=record.get("google_id"))


class StopChoice(BaseModel):
    """The user's answer to a safety stop, for exactly the records it listed."""

    model_config = ConfigDict(extra="forbid")

    answer: StopAnswer
    count: int
    records: list[HeldRecord]
    at: datetime
    by: str


class ValueChoice(BaseModel):
    """ "Use the other value" for one field of one pair: ``value`` (the side ``source``'s value that
    lost the conflict) replaces ``replaces`` (the value kept) on both sides."""

    model_config = ConfigDict(extra="forbid")

    crm_id: str
    google_id: str
    field: str
    source: Side
    value: JsonValue
    replaces: JsonValue
    at: datetime
    by: str

    @property
    def key(self) -> tuple[str, str]:
        return self.crm_id, self.field


class UserChoices(BaseModel):
    """Every answer of the user waiting for the kind's next run."""

    model_config = ConfigDict(extra="forbid")

    stop: StopChoice | None = None
    values: list[ValueChoice] = Field(default_factory=list)
    # The scope the user started syncing after its preview ("Start syncing"; services/preview_gate.py):
    # with previews on, a kind waits while its scope differs (its first sync, or a new scope or target).
    started: str | None = None

    def restoring(self) -> frozenset[tuple[str, str]]:
        """The (CRM id, Google id) pairs the user chose to keep."""
        if self.stop is None or self.stop.answer is not StopAnswer.RESTORE:
            return frozenset()
        return frozenset((r.crm_id, r.google_id) for r in self.stop.records if r.crm_id and r.google_id)

    def approves_deletes(self, count: int, records: Sequence[Mapping[str, Any]]) -> bool:
        """Whether the user said "Delete them" to exactly these deletions."""
        stop = self.stop
        return (
            stop is not None
            and stop.answer is StopAnswer.DELETE
            and stop.count == count
            and _keys(stop.records) == _keys(HeldRecord.of(r) for r in records)
        )

    def with_value(self, choice: ValueChoice) -> UserChoices:
        """These choices with ``choice`` replacing any earlier one for the same field of the same record."""
        return self.model_copy(update={"values": [v for v in self.values if v.key != choice.key] + [choice]})


def _keys(records: Iterable[HeldRecord]) -> list[tuple[str, str, str]]:
    return sorted((r.side.value, r.crm_id or "", r.google_id or "") for r in records)
