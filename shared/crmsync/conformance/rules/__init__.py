"""The contract's rules, one module per part of docs/crm-sync-api.md (imported in report order)."""

from . import records, custom, formats, writes, feed, bulk, users, errors, notifications  # noqa: F401, I001
