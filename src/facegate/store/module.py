"""Base of the store's sub-modules (``store.consents``, ``store.credentials``...)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from facegate.store.service import Store


class StoreModule:
    """One area of the store's API. Uses the store's transactions, audit and key store."""

    def __init__(self, store: Store) -> None:
        self._store = store
