"""Migration m007_clusters: schema for the clusters queries. Append-only like every migration."""

from __future__ import annotations

from sqlite_utils import Database

from store.migration_sql import run_script


def m007_clusters(db: Database) -> None:
    run_script(db, "")
