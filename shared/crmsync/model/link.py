"""A link: what the two sides last agreed on for one record pair."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from .custom import without_empty
from .kinds import Kind, Side

Canon = dict[str, Any]  # canonical field name -> normalised JSON value


class LinkSide(BaseModel):
    """What a link knows of one side: the record's id, the content hash last seen or written
    (``seen_hash``: None when unknown — parked, or a write answered without the record), its
    version (CRM version or Google etag), what it holds in place of agreed values (``held``), and
    whether it is parked (not synced on purpose: it left the scope while its partner was edited;
    re-read when its partner changes)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    seen_hash: str | None = None
    version: str | None = None
    held: Canon = Field(default_factory=dict)
    parked: bool = False

    @model_validator(mode="after")
    def _parked_has_no_hash(self) -> LinkSide:
        if self.parked and self.seen_hash is not None:
            raise ValueError("a parked side has no last seen hash (it is re-read when its partner changes)")
        return self


def content_hash(canon: Canon) -> str:
    """A stable hash of a canonical record (key order and formatting do not matter; an empty custom
    field counts as absent, so mapping a field leaves the hashes of records without it as they were)."""
    blob = json.dumps(without_empty(canon), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()[:32]


class Link(BaseModel):
    """One synced record pair. Stored at connections/{id}/links/{kind}:{crm_id}."""

    model_config = ConfigDict(extra="forbid")

    kind: Kind
    base: Canon  # the last-synced canonical snapshot: the merge base
    created_by: Side  # which side the record was first created on
    synced_at: datetime
    crm: LinkSide
    google: LinkSide

    def side(self, side: Side) -> LinkSide:
        """One side of the link (``link.side(Side.CRM).parked``)."""
        return self.crm if side is Side.CRM else self.google

    @property
    def crm_id(self) -> str:
        return self.crm.id

    @property
    def google_id(self) -> str:
        return self.google.id

    @property
    def parked(self) -> bool:
        """A pair kept linked while (at least) one side is out of scope: that side is parked."""
        return self.crm.parked or self.google.parked

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
