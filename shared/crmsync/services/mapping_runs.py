"""A change of the admin's field mapping reaches every record: the kind's next run lists both
sides in full (an incremental feed holds only records edited since), and each record holding a
value in a newly mapped field is copied to the side without one. Records holding no value in it
compare and hash as before (``model.custom.without_empty``), so nothing else is written."""

from __future__ import annotations

import hashlib
import json
import logging

from ..model.field_mapping import FieldMapping
from ..model.kinds import Kind
from ..ports import LinkStore

log = logging.getLogger(__name__)


def digest(mapping: FieldMapping, kind: Kind) -> str:
    """A short digest of one kind's mapping (what is mapped where, which way)."""
    # fill_from unset is left out: mappings saved before it existed keep their digest.
    entries = [
        m.model_dump(mode="json", exclude={"fill_from"} if m.fill_from is None else None) for m in mapping.of(kind)
    ]
    return hashlib.sha256(json.dumps(entries, sort_keys=True).encode()).hexdigest()[:16]


def check_mapping(links: LinkStore, kind: Kind, mapping: FieldMapping) -> bool:
    """Before a kind runs: list it in full if its mapping changed since its cursor was stored. A
    cursor stored before mappings were kept counts as read with the empty mapping. True when it
    changed: this run fills the newly mapped fields from the sides the admin chose (sync/fill.py)."""
    cursor = links.cursor(kind)
    now = digest(mapping, kind)
    stored = cursor.field_mapping_digest
    before = digest(FieldMapping(), kind) if stored is None else stored
    if before == now and stored is not None:
        return False
    if before != now:
        cursor.full_sync = True
        log.info("%s: the field mapping changed; listing both sides in full", kind.value)
    cursor.field_mapping_digest = now
    links.save_cursor(cursor)
    return before != now
