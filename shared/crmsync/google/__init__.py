"""Google side of the sync: client construction, error mapping, retry, paging and the
per-kind adapters (``GooglePeople`` for contacts)."""
