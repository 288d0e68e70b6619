"""Text helpers for SQL: timestamps and quoting user text for FTS5."""

from __future__ import annotations

from datetime import UTC, datetime


def now_iso() -> str:
    """The current UTC time as ISO 8601 text with milliseconds, e.g. 2026-01-31T12:00:00.000Z."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def fts_query(text: str) -> str:
    """Quote user text as FTS5 phrases so it is never read as FTS syntax."""
    words = [w for w in text.split() if w.strip()]
    return " ".join('"' + w.replace('"', '""') + '"' for w in words)
