"""The reference CRM: the CRM Sync API v1 on SQLite (server, storage, seeding)."""

from __future__ import annotations

from .server import CrmServer
from .store import CrmStore

__all__ = ["CrmServer", "CrmStore"]
