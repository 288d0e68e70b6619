"""Migration m012_sign_in_attempts: failed sign-ins counted per name and client, so that
growing delays slow one client guessing a password without locking the user out elsewhere."""

from __future__ import annotations

from sqlite_utils import Database

from store.migration_sql import run_script


def m012_sign_in_attempts(db: Database) -> None:
    run_script(
        db,
        """
        -- One row per (typed name, client) with failed sign-ins in a row. A try is counted
        -- here before its password is checked, and the row goes on success, so parallel
        -- tries cannot slip past the delay. Rows are forgotten a while after their last try.
        CREATE TABLE sign_in_attempts (
            name TEXT NOT NULL,
            client TEXT NOT NULL,
            failures INTEGER NOT NULL,
            last_at TEXT NOT NULL,
            next_at TEXT NOT NULL,
            PRIMARY KEY (name, client)
        );
        CREATE INDEX idx_sign_in_attempts_last ON sign_in_attempts(last_at);
        """,
    )
