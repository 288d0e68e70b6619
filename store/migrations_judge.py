"""Migration m013_judge_replies: a judge's raw replies in both orders, and why one was unreadable.

A verdict the judge gave in a form that could not be read is kept, not dropped: its verdict
stays empty and ``problem`` says what was wrong, so the page can count, show and retry it.
"""

from __future__ import annotations

from sqlite_utils import Database

from store.migration_sql import run_script


def m013_judge_replies(db: Database) -> None:
    run_script(
        db,
        """
        ALTER TABLE judgments ADD COLUMN reply_a_first TEXT;
        ALTER TABLE judgments ADD COLUMN reply_b_first TEXT;
        ALTER TABLE judgments ADD COLUMN problem TEXT;
        """,
    )
