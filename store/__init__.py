"""All of Loupe's SQL: the Store class and its migrations."""

from store.store import Store, default_db_path, now_iso

__all__ = ["Store", "default_db_path", "now_iso"]
