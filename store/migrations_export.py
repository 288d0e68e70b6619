"""Migration m006_export: the record of every fine-tuning export."""

from __future__ import annotations

from sqlite_utils import Database

from store.migration_sql import run_script


def m006_export(db: Database) -> None:
    run_script(
        db,
        """
        CREATE TABLE exports (
            id INTEGER PRIMARY KEY,
            format TEXT NOT NULL,
            options TEXT NOT NULL,
            counts TEXT NOT NULL,
            rows INTEGER NOT NULL,
            sha256 TEXT NOT NULL,
            path TEXT,
            who TEXT,
            created_at TEXT NOT NULL
        );
        """,
    )
