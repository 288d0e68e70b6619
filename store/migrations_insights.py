"""Migration m004_insights: schema for the insights queries. Append-only like every migration."""

from __future__ import annotations

from sqlite_utils import Database

from store.migrations import _run_script, migrations


@migrations()
def m004_insights(db: Database) -> None:
    _run_script(db, "")
