"""Migration m002_ingest: schema for the ingest queries. Append-only like every migration."""

from __future__ import annotations

from sqlite_utils import Database

from store.migration_sql import run_script


def m002_ingest(db: Database) -> None:
    # Imports find the conversation an external key names; the demo is found and removed by source.
    run_script(
        db,
        """
        CREATE INDEX idx_conversations_external ON conversations(source, external_id)
            WHERE external_id IS NOT NULL;
        CREATE INDEX idx_conversations_source ON conversations(source);
        """,
    )
