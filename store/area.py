"""The base of the Store's areas: each area holds the Store it works on."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from store.store import Store


class Area:
    """One area of the Store (review, insights, users...): its queries over the shared connection."""

    def __init__(self, store: Store) -> None:
        self.store = store
