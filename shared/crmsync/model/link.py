"""A link: what the two sides last agreed on for one record pair."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from .kinds import Kind, Side

Canon = dict[str, Any]  # canonical field name -> normalised JSON value


def content_hash(canon: Canon) -> str:
    """A stable hash of a canonical record (key order and formatting do not matter)."""
    blob = json.dumps(canon, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()[:32]


class Link(BaseModel):
    """One synced record pair. Stored at connections/{id}/links/{kind}:{crm_id}."""

    model_config = ConfigDict(extra="forbid")

    kind: Kind
    crm_id: str
    google_id: str
    base: Canon  # the last-synced canonical snapshot: the merge base
    crm_hash: str  # content hash of the CRM record as last seen or written
    google_hash: str  # content hash of the Google record as last seen or written
    crm_version: int | None = None
    google_etag: str | None = None
    created_by: Side  # which side the record was first created on
    synced_at: datetime
    # Fields a side could not hold as agreed (e.g. an organisation name the CRM has no company
    # for), with the value it holds instead: while it still holds that, it counts as the base
    # value, so the stand-in is never taken for an edit and sent back over the agreed value.
    crm_held: dict[str, Any] = Field(default_factory=dict)
    google_held: dict[str, Any] = Field(default_factory=dict)

    def side_held(self, side: Side) -> Canon:
        """What ``side`` holds in place of agreed values."""
        return self.crm_held if side is Side.CRM else self.google_held

    @property
    def doc_id(self) -> str:
        return link_doc_id(self.kind, self.crm_id)


def effective(canon: Canon, held: Canon, base: Canon) -> Canon:
    """A side's record with the values it merely holds in place of the agreed ones (``held``)
    read as the agreed (``base``) values; a field changed since counts as changed."""
    swap = {f: base.get(f) for f, v in held.items() if f in canon and canon[f] == v}
    return {**canon, **swap} if swap else canon


def held_fields(holds: Canon, base: Canon) -> Canon:
    """The fields where what a side holds right after our write differs from what was agreed."""
    return {f: v for f, v in holds.items() if f in base and base[f] != v}


def link_doc_id(kind: Kind, crm_id: str) -> str:
    """Document id of a link: kind and CRM id (so lookup by CRM id is a direct get)."""
    return f"{kind.value}:{crm_id}"
