"""The state store: Firestore (``crmsync.store.firestore.FirestoreStore``) and an in-memory fake
(``crmsync.store.memory.MemoryStore``) with the same interface (``contract.StateStore``)."""

from .contract import ConnectionNotFound, Page, StateStore, StoreError

__all__ = ["ConnectionNotFound", "Page", "StateStore", "StoreError"]
