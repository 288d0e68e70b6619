"""Migration m008_users: API tokens (stored as digests) for the feedback collection service."""

from __future__ import annotations

from sqlite_utils import Database

from store.migration_sql import run_script


def m008_users(db: Database) -> None:
    run_script(
        db,
        """
        CREATE TABLE api_tokens (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL,
            digest TEXT NOT NULL UNIQUE,
            rate TEXT,
            created_by TEXT,
            created_at TEXT NOT NULL,
            last_used_at TEXT,
            revoked_at TEXT
        );
        """,
    )
