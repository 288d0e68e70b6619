"""Migration m002_ingest: schema for the ingest queries. Append-only like every migration."""

from __future__ import annotations

from sqlite_utils import Database

from store.migrations import _run_script, migrations


@migrations()
def m002_ingest(db: Database) -> None:
    _run_script(db, "")
