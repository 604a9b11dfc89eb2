"""Token vault: each connection's Google refresh token, behind one port with three implementations.

Names are imported lazily (PEP 562) so a function that uses the local file
vault never pays for loading the Secret Manager client at cold start.
"""

from __future__ import annotations

import importlib
from typing import Any

_WHERE = {
    "DataKeyProvider": "data_keys",
    "InMemoryDataKeys": "data_keys",
    "SecretManagerDataKeys": "data_keys",
    "CiphertextStore": "envelope",
    "EnvelopeVault": "envelope",
    "InMemoryCiphertextStore": "envelope",
    "LocalFileVault": "local_file",
    "MAX_TOKEN_BYTES": "port",
    "TokenNotFound": "port",
    "TokenVault": "port",
    "VaultError": "port",
    "VaultUnavailable": "port",
    "SecretManagerVault": "secret_manager",
}
__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
