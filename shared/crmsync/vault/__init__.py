"""Token vault: each connection's Google refresh token, behind one port with three implementations."""

from crmsync.vault.data_keys import DataKeyProvider, InMemoryDataKeys, SecretManagerDataKeys
from crmsync.vault.envelope import CiphertextStore, EnvelopeVault, InMemoryCiphertextStore
from crmsync.vault.local_file import LocalFileVault
from crmsync.vault.port import MAX_TOKEN_BYTES, TokenNotFound, TokenVault, VaultError, VaultUnavailable
from crmsync.vault.secret_manager import SecretManagerVault

__all__ = [
    "MAX_TOKEN_BYTES",
    "CiphertextStore",
    "DataKeyProvider",
    "EnvelopeVault",
    "InMemoryCiphertextStore",
    "InMemoryDataKeys",
    "LocalFileVault",
    "SecretManagerDataKeys",
    "SecretManagerVault",
    "TokenNotFound",
    "TokenVault",
    "VaultError",
    "VaultUnavailable",
]
