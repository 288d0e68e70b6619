"""Writing ratings: a rating's row in ``ratings`` and its tags in ``rating_tags``, kept in step.

Every path that writes a rating (the dashboard, the feedback API, imports, bulk inserts and the
demo) goes through ``write_ratings``.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from typing import NamedTuple

from store.area import inserted_id

_INSERT = (
    "INSERT INTO ratings (id, interaction_id, reviewer, stars, thumbs, comment, tags, ideal_answer,"
    " source, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
# A reviewer rates an interaction once: writing again replaces what the rating says.
_UPSERT = (
    _INSERT + " ON CONFLICT (interaction_id, reviewer) DO UPDATE SET stars = excluded.stars,"
    " thumbs = excluded.thumbs, comment = excluded.comment, tags = excluded.tags,"
    " ideal_answer = excluded.ideal_answer, source = excluded.source,"
    " updated_at = excluded.updated_at"
)
_TAG_INSERT = "INSERT INTO rating_tags (rating_id, interaction_id, tag) VALUES (?, ?, ?)"


def check_marks(stars: int | None, thumbs: int | None) -> None:
    """ValueError unless stars are 1 to 5 and thumbs 1 (up) or -1 (down), when given."""
    if stars is not None and not 1 <= int(stars) <= 5:
        raise ValueError(f"stars must be 1 to 5, not {stars}")
    if thumbs is not None and thumbs not in (-1, 1):
        raise ValueError(f"thumbs must be 1 (up) or -1 (down), not {thumbs}")


def clean_tags(tags: Sequence[str] | None) -> list[str]:
    """Tags as stored from a reviewer's input: stripped, without blanks or repeats, sorted."""
    return sorted({t.strip() for t in tags or [] if t and t.strip()})


class Rating(NamedTuple):
    """One rating to write; ``tags`` as they are to be stored (cleaned by the caller)."""

    interaction_id: int
    reviewer: str
    stars: int | None
    thumbs: int | None
    comment: str | None
    tags: Sequence[str]
    ideal_answer: str | None
    created_at: str
    updated_at: str
    source: str | None = None  # None: an import's rating
    id: int | None = None  # None: the database picks it

    def row(self) -> tuple[object, ...]:
        """The values of the ratings row, in the order of the INSERT."""
        return (self.id, self.interaction_id, self.reviewer, self.stars, self.thumbs, self.comment,
                json.dumps(list(self.tags), ensure_ascii=False), self.ideal_answer, self.source,
                self.created_at, self.updated_at)


def write_ratings(
    conn: sqlite3.Connection, ratings: Sequence[Rating], *, replace: bool = False
) -> list[int]:
    """Write ratings and their tags inside the caller's transaction; return their ids.

    With ``replace`` a reviewer's earlier rating of the interaction is replaced (keeping its id
    and creation time) and its tags with it; without, such a rating makes the insert fail.
    Ratings whose ids are all given go in with two statements, however many there are.
    """
    if not replace and ratings and all(r.id is not None for r in ratings):
        conn.executemany(_INSERT, [r.row() for r in ratings])
        conn.executemany(
            _TAG_INSERT, [(r.id, r.interaction_id, tag) for r in ratings for tag in r.tags]
        )
        return [int(r.id) for r in ratings if r.id is not None]
    ids = []
    for rating in ratings:
        cursor = conn.execute(_UPSERT if replace else _INSERT, rating.row())
        if replace:
            rating_id = int(conn.execute(
                "SELECT id FROM ratings WHERE interaction_id = ? AND reviewer = ?",
                [rating.interaction_id, rating.reviewer],
            ).fetchone()[0])
            conn.execute("DELETE FROM rating_tags WHERE rating_id = ?", [rating_id])
        else:
            rating_id = inserted_id(cursor)
        conn.executemany(_TAG_INSERT, [(rating_id, rating.interaction_id, tag) for tag in rating.tags])
        ids.append(rating_id)
    return ids
