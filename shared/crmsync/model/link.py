"""A link: what the two sides last agreed on for one record pair."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

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

    @property
    def doc_id(self) -> str:
        return link_doc_id(self.kind, self.crm_id)


def link_doc_id(kind: Kind, crm_id: str) -> str:
    """Document id of a link: kind and CRM id (so lookup by CRM id is a direct get)."""
    return f"{kind.value}:{crm_id}"
