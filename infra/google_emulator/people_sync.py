"""connections.list: full listings, page tokens and sync tokens (with Google's expiry error)."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import timedelta
from typing import Any

from .core import ApiError, Ctx, error_info
from .people_contact import Contact
from .people_model import READ_FIELDS, parse_mask
from .people_replica import ContactLog
from .people_store import PeopleStore
from .realism import page_limit

SYNC_TOKEN_TTL = timedelta(days=7)
SORT_ORDERS = ("LAST_MODIFIED_ASCENDING", "LAST_MODIFIED_DESCENDING", "FIRST_NAME_ASCENDING", "LAST_NAME_ASCENDING")
READ_SOURCES = (
    "READ_SOURCE_TYPE_UNSPECIFIED",
    "READ_SOURCE_TYPE_PROFILE",
    "READ_SOURCE_TYPE_CONTACT",
    "READ_SOURCE_TYPE_DOMAIN_CONTACT",
    "READ_SOURCE_TYPE_OTHER_CONTACT",
)
EXPIRED_MESSAGE = "Sync token is expired. Clear local cache and retry call without the sync token."


def encode_token(data: dict[str, Any]) -> str:
    """An opaque token (base64 of compact JSON)."""
    return base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_token(value: str, name: str, kind: str, store: PeopleStore, view: ContactLog) -> dict[str, Any]:
    """Decode a token this account was given, or 400 naming the parameter."""
    try:
        data = json.loads(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)))
        ok = isinstance(data, dict) and data.get("k") == kind and data.get("a") == store.account_tag
        ok = ok and (data.get("e") != store.token_epoch or int(data.get("s", 0)) <= view.seq)
    except ValueError:
        ok = False
    if not ok:
        raise ApiError(400, f"Invalid {name}: the token is malformed, or was not issued for this account and request.")
    return data  # type: ignore[no-any-return]


def fingerprint(*parts: object) -> str:
    return hashlib.blake2b(repr(parts).encode(), digest_size=8).hexdigest()


def check_expiry(ctx: Ctx, store: PeopleStore, data: dict[str, Any]) -> None:
    """Google's expired-sync-token answer: HTTP 400 FAILED_PRECONDITION with ErrorInfo EXPIRED_SYNC_TOKEN."""
    ttl: timedelta = ctx.state.extras.get("people.sync_token_ttl", SYNC_TOKEN_TTL)
    if data.get("e") != store.token_epoch or ctx.now().timestamp() - float(data["cs"]) > ttl.total_seconds():
        raise ApiError(
            400,
            EXPIRED_MESSAGE,
            status="FAILED_PRECONDITION",
            details=[error_info("EXPIRED_SYNC_TOKEN", "people.googleapis.com")],
        )


def mismatch(name: str) -> ApiError:
    return ApiError(
        400,
        f"Parameters provided with {name} do not match the request that issued it: personFields, sortOrder, "
        "sources (and, for a page token, pageSize, requestSyncToken and syncToken) must equal the first call's.",
    )


def person_fields(ctx: Ctx, name: str = "personFields") -> list[str]:
    """The required person mask (personFields, or the deprecated requestMask.includeField)."""
    value = ctx.param(name) or ctx.param("requestMask.includeField")
    mask = parse_mask(value, name, READ_FIELDS, required=True)
    assert mask is not None
    return mask


def read_sources(ctx: Ctx) -> list[str]:
    sources = ctx.params("sources")
    for s in sources:
        if s not in READ_SOURCES:
            raise ApiError(400, f"Invalid value for sources: {s!r} (expected one of {', '.join(READ_SOURCES)}).")
    if sources and "READ_SOURCE_TYPE_CONTACT" not in sources:
        raise ApiError(400, "Invalid sources: this method needs READ_SOURCE_TYPE_CONTACT among the sources.")
    return sorted(set(sources))


def _name_key(contact: Contact, by_last: bool) -> tuple[Any, ...]:
    names = contact.fields.get("names")
    if not names:
        return (1, "", "", contact.seq)
    given, family = names[0].get("givenName", "").casefold(), names[0].get("familyName", "").casefold()
    first, second = (family, given) if by_last else (given, family)
    return (0 if first else 1, first, second, contact.seq)


def _sorted_keys(store: ContactLog, upto: int, order: str, epoch: int) -> list[str]:
    cache_key = (upto, order, epoch)
    if cache_key not in store.sorted_cache:
        if len(store.sorted_cache) >= 4:
            store.sorted_cache.pop(next(iter(store.sorted_cache)))
        live = [c for c in store.contacts.values() if not c.deleted and c.seq <= upto]
        live.sort(key=lambda c: _name_key(c, order == "LAST_NAME_ASCENDING"))
        store.sorted_cache[cache_key] = [c.key for c in live]
    return store.sorted_cache[cache_key]


def list_connections(ctx: Ctx, store: PeopleStore) -> dict[str, Any]:
    """One page of people.connections.list (served from what has propagated, see realism.py)."""
    mask = person_fields(ctx)
    requested = ctx.int_param("pageSize", 100, low=0, high=1000) or 100
    view = store.sync_view()
    order = ctx.param("sortOrder") or "LAST_MODIFIED_ASCENDING"
    if order not in SORT_ORDERS:
        raise ApiError(400, f"Invalid value for sortOrder: {order!r} (expected one of {', '.join(SORT_ORDERS)}).")
    sources = read_sources(ctx)
    want_token = ctx.bool_param("requestSyncToken")
    sync_token, page_token = ctx.param("syncToken"), ctx.param("pageToken")
    fp_sync = fingerprint(sorted(mask), order, sources)
    fp_page = fingerprint(fp_sync, requested, want_token, sync_token or "")
    now = ctx.now().timestamp()
    if page_token:
        st = decode_token(page_token, "pageToken", "p", store, view)
        if st["f"] != fp_page:
            raise mismatch("pageToken")
        if st["m"] == "sync":
            check_expiry(ctx, store, st)
    elif sync_token:
        tok = decode_token(sync_token, "syncToken", "s", store, view)
        if tok["f"] != fp_sync:
            raise mismatch("syncToken")
        check_expiry(ctx, store, tok)
        since = int(tok["s"])
        total = len(view.changes(since, view.seq))
        st = {"m": "sync", "c": since, "u": view.seq, "t": total, "cs": tok["cs"], "e": store.token_epoch}
    else:
        start = view.seq + 1 if order == "LAST_MODIFIED_DESCENDING" else 0
        st = {"m": "full", "c": start, "u": view.seq, "t": view.live, "cs": now, "e": store.token_epoch}

    page_number = int(st.get("n", 0))
    page_size = page_limit(ctx, requested, page_number)
    upto, cursor = int(st["u"]), int(st["c"])
    if st["m"] == "sync":
        entries = view.changes(cursor, upto, page_size + 1)
        page = [view.contacts[k] for _, k in entries]
    elif order in ("FIRST_NAME_ASCENDING", "LAST_NAME_ASCENDING"):
        keys = _sorted_keys(view, upto, order, store.token_epoch)
        page = []
        while cursor < len(keys) and len(page) <= page_size:
            contact = view.contacts[keys[cursor]]
            cursor += 1
            if not contact.deleted and contact.seq <= upto:
                page.append(contact)
        if len(page) > page_size:
            cursor -= 1
    else:
        page = view.log_slice(cursor, upto, page_size + 1, descending=order == "LAST_MODIFIED_DESCENDING")
    more = len(page) > page_size
    page = page[:page_size]
    if page and (st["m"] == "sync" or order.startswith("LAST_MODIFIED")):
        cursor = page[-1].seq
    out: dict[str, Any] = {}
    if page:
        out["connections"] = [c.view(mask) for c in page]
    if more:
        token_data = {**st, "k": "p", "a": store.account_tag, "f": fp_page, "c": cursor, "n": page_number + 1}
        out["nextPageToken"] = encode_token(token_data)
    elif want_token:
        token = {"k": "s", "a": store.account_tag, "f": fp_sync, "s": upto, "cs": st["cs"], "e": store.token_epoch}
        out["nextSyncToken"] = encode_token(token)
    out["totalPeople"] = int(st["t"])
    out["totalItems"] = int(st["t"])
    return out
