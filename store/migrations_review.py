"""Migration m003_review: schema for the review queries. Append-only like every migration."""

from __future__ import annotations

from sqlite_utils import Database

from store.migrations import _run_script, migrations


@migrations()
def m003_review(db: Database) -> None:
    _run_script(db, "")
