"""Migration m007_clusters: schema for the clusters queries. Append-only like every migration."""

from __future__ import annotations

from sqlite_utils import Database

from store.migrations import _run_script, migrations


@migrations()
def m007_clusters(db: Database) -> None:
    _run_script(db, "")
