"""The base of the Store's areas: each area holds the Store it works on."""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from store.store import Store


class Area:
    """One area of the Store (review, insights, users...): its queries over the shared connection."""

    def __init__(self, store: Store) -> None:
        self.store = store


def inserted_id(cursor: sqlite3.Cursor) -> int:
    """The id of the row an INSERT just wrote."""
    if cursor.lastrowid is None:
        raise RuntimeError("the statement inserted no row")
    return cursor.lastrowid
