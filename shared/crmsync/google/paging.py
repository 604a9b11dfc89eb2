"""The one paging loop: every page of a Google listing, plus the token for next time."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .errors import BadRequest

Fetch = Callable[[str | None], dict[str, Any]]  # page token (None first) -> one response


@dataclass(frozen=True)
class Paged:
    """Every item of a listing and the sync token Google gave with its last page."""

    items: list[dict[str, Any]]
    next_sync_token: str | None
    pages: int


def fetch_all(fetch: Fetch, items_key: str, *, max_pages: int = 100_000) -> Paged:
    """Follow ``nextPageToken`` until the last page; ``fetch`` does the call (with retry and counting)."""
    items: list[dict[str, Any]] = []
    token: str | None = None
    seen: set[str] = set()
    for page in range(1, max_pages + 1):
        resp = fetch(token)
        items.extend(resp.get(items_key) or [])
        token = resp.get("nextPageToken") or None
        if token is None:
            return Paged(items, resp.get("nextSyncToken") or None, page)
        if token in seen:
            raise BadRequest(f"Google returned the page token of an earlier page again after page {page}; stopping")
        seen.add(token)
    raise BadRequest(f"listing did not end after {max_pages} pages; stopping")
