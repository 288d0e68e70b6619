"""Text helpers for SQL: timestamps and quoting user text for FTS5."""

from __future__ import annotations

from store.dates import now_text

now_iso = now_text  # the stored timestamp format has one home: store/dates.py


def fts_query(text: str) -> str:
    """Quote user text as FTS5 phrases so it is never read as FTS syntax."""
    words = [w for w in text.split() if w.strip()]
    return " ".join('"' + w.replace('"', '""') + '"' for w in words)
