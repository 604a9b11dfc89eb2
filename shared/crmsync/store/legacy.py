"""Documents of the previous release's shape, read into today's (kept for one release).

A cursor kept its kind-specific state in a free-form ``extra`` map of string keys; each key
now has a typed field of ``Cursor``. A link kept each side's state in flat ``crm_*``/``google_*``
fields, with sentinel hashes ("" parked, "unconfirmed" unknown); now it keeps one ``LinkSide``
per side. Reading upgrades the document; the next save writes the new shape."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

log = logging.getLogger(__name__)

Doc = dict[str, Any]

# extra key -> (field of the cursor, field of that part, or None for a top-level field)
_CURSOR_EXTRA: dict[str, tuple[str, str | None]] = {
    "listed_in_full_at": ("listed_in_full_at", None),
    "quota_until": ("quota_until", None),
    "unreported_conflicts": ("unreported_conflicts", None),
    "retry": ("retry", None),
    "user_choices": ("user_choices", None),
    "field_mapping": ("field_mapping_digest", None),
    "crm_feed": ("crm_feed", "filters"),
    "crm_feed_restart": ("crm_feed", "restarting"),
    "place": ("place", "target"),
    "google_group_resource_name": ("place", "group"),
    "write_calendar_id": ("place", "calendar"),
    "written_calendars": ("place", "written_calendars"),
    "crm_creating": ("crm_creating", "keys"),
    "crm_creating_at": ("crm_creating", "since"),
}

_TIMES = frozenset({"listed_in_full_at", "quota_until", "crm_creating_at"})  # stored as ISO text


def _is_time(value: Any) -> bool:
    if isinstance(value, datetime):
        return True
    try:
        datetime.fromisoformat(str(value))
    except ValueError:
        return False
    return True


def upgrade_cursor(doc: Doc, where: str) -> Doc:
    """A cursor document in today's shape (``doc`` itself when it already is)."""
    if "extra" not in doc:
        return doc
    out = {k: v for k, v in doc.items() if k != "extra"}
    extra = doc["extra"] if isinstance(doc["extra"], dict) else {}
    for key, value in extra.items():
        if key == "deletes_approved":  # "Delete them", before other answers were kept with it
            value = _approval(value, where)
            key = "user_choices"
            if value is None or "user_choices" in extra:
                continue
        if key not in _CURSOR_EXTRA:
            log.warning("%s: dropped the unknown cursor entry %r of an older release", where, key)
            continue
        if value is None:
            continue
        if key in _TIMES and not _is_time(value):
            log.warning("%s: dropped the unreadable time %r of cursor entry %r", where, value, key)
            continue
        name, part = _CURSOR_EXTRA[key]
        if part is None:
            out[name] = value
        else:
            out.setdefault(name, {})[part] = value
    return out


def _approval(stored: Any, where: str) -> Doc | None:
    """An approval of deletions ({count, records: ["side:crm_id:google_id"], at, by}) as user choices."""
    try:
        records = []
        for key in stored["records"]:
            side, crm_id, google_id = str(key).split(":", 2)
            records.append({"side": side, "crm_id": _id(crm_id), "google_id": _id(google_id)})
        stop = {"answer": "delete", "count": stored["count"], "records": records}
        return {"stop": {**stop, "at": stored["at"], "by": stored["by"]}}
    except (KeyError, TypeError, ValueError):
        log.warning("%s: dropped an unreadable approval of deletions of an older release", where)
        return None


def _id(stored: str) -> str | None:
    return None if stored == "None" else stored


_PARKED, _UNCONFIRMED = "", "unconfirmed"  # the sentinel hashes of the flat link shape


def upgrade_link(doc: Doc) -> Doc:
    """A link document in today's shape (``doc`` itself when it already is)."""
    if "crm" in doc or "crm_id" not in doc:
        return doc
    flat = {"crm_id", "google_id", "crm_hash", "google_hash", "crm_version", "google_etag", "crm_held", "google_held"}
    out = {k: v for k, v in doc.items() if k not in flat}
    crm_version = doc.get("crm_version")
    out["crm"] = _link_side(doc["crm_id"], doc.get("crm_hash"), None if crm_version is None else str(crm_version))
    out["crm"]["held"] = doc.get("crm_held") or {}
    out["google"] = _link_side(doc.get("google_id"), doc.get("google_hash"), doc.get("google_etag"))
    out["google"]["held"] = doc.get("google_held") or {}
    return out


def _link_side(rid: Any, stored: Any, version: Any) -> Doc:
    known = stored not in (_PARKED, _UNCONFIRMED, None)
    return {"id": rid, "seen_hash": stored if known else None, "version": version, "parked": stored == _PARKED}
