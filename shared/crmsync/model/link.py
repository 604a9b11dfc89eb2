"""A link: what the two sides last agreed on for one record pair."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from .custom import without_empty
from .kinds import Kind, Side

Canon = dict[str, Any]  # canonical field name -> normalised JSON value

# Stored per-side hashes that are no content hash (today's stored shape, read by ``Link.side``):
PARKED = ""  # the side is not synced on purpose (left the scope): re-read when its partner changes
UNCONFIRMED = "unconfirmed"  # a write answered without the record: what the side holds is unknown


@dataclass(frozen=True)
class LinkSide:
    """What a link knows of one side: the record's id, the content hash last seen or written (None
    when unknown), its version (CRM version or Google etag), what it holds in place of agreed
    values (``held``), and whether it is parked (left the scope while its partner was edited)."""

    side: Side
    id: str
    seen_hash: str | None
    version: str | None
    held: Canon
    parked: bool


def content_hash(canon: Canon) -> str:
    """A stable hash of a canonical record (key order and formatting do not matter; an empty custom
    field counts as absent, so mapping a field leaves the hashes of records without it as they were)."""
    blob = json.dumps(without_empty(canon), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
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

    def side(self, side: Side) -> LinkSide:
        """One side of the link, typed (``link.side(Side.CRM).parked``)."""
        if side is Side.CRM:
            stored, version = self.crm_hash, None if self.crm_version is None else str(self.crm_version)
            return LinkSide(side, self.crm_id, _known(stored), version, self.crm_held, stored == PARKED)
        stored = self.google_hash
        return LinkSide(side, self.google_id, _known(stored), self.google_etag, self.google_held, stored == PARKED)

    @property
    def parked(self) -> bool:
        """A pair kept linked while (at least) one side is out of scope: that side is parked."""
        return PARKED in (self.crm_hash, self.google_hash)

    @property
    def doc_id(self) -> str:
        return link_doc_id(self.kind, self.crm_id)


def _known(stored: str) -> str | None:
    return None if stored in (PARKED, UNCONFIRMED) else stored


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
