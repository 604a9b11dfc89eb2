"""Domain records, settings and link state: pydantic and plain data, no I/O."""
