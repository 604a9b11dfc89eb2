"""The user's answers the next run applies, kept in the kind's cursor as one typed value:

- to a mass-delete safety stop: "Delete them" approves exactly the deletions the stopped run listed
  (the next run applies them if it would delete that same set; anything else stops again); "Keep them"
  restores the listed records on the side that lost them, from the other side's data, relinked.
- to a reported conflict: "use the other value" writes the losing value on both sides, unless either
  side changed that field since (then the choice is stale and said so).

A run that applies an answer records it in its report and forgets it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from ..model.choices import HeldRecord, StopAnswer, StopChoice, UserChoices, ValueChoice
from ..model.cursor import Cursor

__all__ = ["HeldRecord", "StopAnswer", "StopChoice", "UserChoices", "ValueChoice"]
__all__ += ["choices_of", "keep_choices", "stop_choice"]


def choices_of(cursor: Cursor) -> UserChoices:
    """The answers waiting in the kind's cursor."""
    return cursor.user_choices


def keep_choices(cursor: Cursor, choices: UserChoices) -> None:
    """Put ``choices`` into the cursor (the caller saves it)."""
    cursor.user_choices = choices


def stop_choice(
    answer: StopAnswer, records: Sequence[Mapping[str, Any]], count: int, at: datetime, by: str
) -> StopChoice:
    """The answer to the stop that listed ``records`` (``count`` deletions in all)."""
    return StopChoice(answer=answer, count=count, records=[HeldRecord.of(r) for r in records], at=at, by=by)
