"""Migration m016_saved_themes: saved failure-theme runs, so a theme can be followed week to week.

A run keeps the settings it was made with; each of its themes keeps its name, its distinguishing
phrases, its centre in the embedded model's vector space (float32 bytes) with the similarity a new
item needs to join it, and its members. Append-only like every migration.
"""

from __future__ import annotations

from sqlite_utils import Database

from store.migration_sql import run_script


def m016_saved_themes(db: Database) -> None:
    run_script(
        db,
        """
        CREATE TABLE theme_runs (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL,
            created_at TEXT NOT NULL,
            created_by TEXT,
            vectorizer TEXT NOT NULL,
            embedding TEXT NOT NULL,
            settings TEXT NOT NULL DEFAULT '{}',
            n_items INTEGER NOT NULL
        );
        CREATE TABLE saved_themes (
            id INTEGER PRIMARY KEY,
            run_id INTEGER NOT NULL REFERENCES theme_runs(id) ON DELETE CASCADE,
            position INTEGER NOT NULL,
            name TEXT NOT NULL,
            label TEXT NOT NULL,
            terms TEXT NOT NULL DEFAULT '[]',
            size INTEGER NOT NULL,
            centre BLOB NOT NULL,
            threshold REAL NOT NULL,
            UNIQUE (run_id, position)
        );
        CREATE TABLE saved_theme_members (
            theme_id INTEGER NOT NULL REFERENCES saved_themes(id) ON DELETE CASCADE,
            interaction_id INTEGER NOT NULL,
            similarity REAL,
            PRIMARY KEY (theme_id, interaction_id)
        ) WITHOUT ROWID;
        CREATE INDEX idx_saved_theme_members_item ON saved_theme_members(interaction_id);
        """,
    )
