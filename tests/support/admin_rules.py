"""The administrator's rules for tests whose subject is not the preview before the first sync.

A new connection previews each kind before its first sync (``AdminConfig.preview_first_sync``, on by
default) and writes nothing until the user starts it. Tests about something else (scheduling, pushes,
pages, conflicts…) turn that rule off here, in one place, so their first run syncs; the preview itself
is tested with the defaults (tests/integration/web/test_preview_by_default.py)."""

from __future__ import annotations

from typing import Any

from crmsync.store.contract import StateStore


def without_preview(rules: dict[str, Any] | None = None) -> dict[str, Any]:
    """The given admin rules (as stored, JSON) with the preview before the first sync turned off."""
    return {**(rules or {}), "preview_first_sync": False}


def store_without_preview(store: StateStore, rules: dict[str, Any] | None = None) -> None:
    """Store the admin rules (default: the defaults) with the preview before the first sync turned off."""
    store.put_global_config(without_preview(rules))
