"""Text helpers for SQL: quoting user text for FTS5."""

from __future__ import annotations


def fts_query(text: str) -> str:
    """Quote user text as FTS5 phrases so it is never read as FTS syntax."""
    words = [w for w in text.split() if w.strip()]
    return " ".join('"' + w.replace('"', '""') + '"' for w in words)
