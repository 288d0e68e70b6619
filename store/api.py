"""Reads and writes of the feedback collection service (``store.api``)."""

from __future__ import annotations

import json
from collections.abc import Generator
from typing import Any

from store.area import Area
from store.ingest import BatchOutcome, ImportRow
from store.ratings import Rating, check_marks, clean_tags, write_ratings
from store.store_text import now_iso

# Who last wrote a rating (ratings.source): the API replaces only its own.
API_SOURCE = "api"

# Characters of question, answer, error and ratings read from the database at once while
# listing feedback (a single larger interaction is read alone).
BATCH_CHARS = 1_000_000
BATCH_ROWS = 100

_SIZES = (
    "SELECT i.id, length(i.question) + coalesce(length(i.answer), 0)"
    " + coalesce(length(i.error), 0)"
    " + coalesce((SELECT sum(coalesce(length(r.comment), 0) + coalesce(length(r.ideal_answer), 0)"
    "   + length(r.tags) + length(r.reviewer)) FROM ratings r WHERE r.interaction_id = i.id), 0)"
    " AS size FROM interactions i WHERE i.id > ? ORDER BY i.id LIMIT ?"
)
_RATING_FIELDS = ("stars", "thumbs", "comment", "tags", "ideal_answer")


class RatingRefused(ValueError):
    """A rating the API may not write: it would speak for, or replace, a dashboard reviewer."""


def _marks(values: list[Any]) -> str:
    return ", ".join("?" for _ in values)


class Api(Area):
    """API methods of the Store."""

    def interaction_for_record(self, external_id: str | None, content_hash: str) -> int | None:
        """The id of the stored interaction an imported record landed in."""
        if external_id is not None:
            return self.store.scalar(
                "SELECT id FROM interactions WHERE external_id = ? ORDER BY id DESC LIMIT 1",
                [external_id],
            )
        return self.store.scalar(
            "SELECT id FROM interactions WHERE content_hash = ? ORDER BY id DESC LIMIT 1",
            [content_hash],
        )

    def is_account(self, name: str) -> bool:
        """Whether a dashboard account has this name."""
        return self.store.scalar("SELECT COUNT(*) FROM users WHERE name = ?", [name.strip()]) > 0

    def add_api_record(self, row: ImportRow) -> BatchOutcome:
        """Store one record sent to the API (an import of one line, source ``api``); the rating
        it adds is marked as the API's. RatingRefused when it rates as a dashboard account."""
        if row.rating is not None and self.is_account(row.rating.reviewer):
            raise RatingRefused(_account_refusal(row.rating.reviewer))
        with self.store.ingest.import_session(source=API_SOURCE) as session:
            before = self.store.db.execute("SELECT COALESCE(MAX(id), 0) FROM ratings").fetchone()[0]
            outcome = session.add([row])
            self.store.db.execute("UPDATE ratings SET source = ? WHERE id > ?", [API_SOURCE, before])
        return outcome

    def save_api_rating(self, interaction_id: int, reviewer: str, changes: dict[str, Any]) -> int:
        """Create or update a rating written through the API; return its id.

        Only the fields in ``changes`` change: a field a request did not send keeps its stored
        value. LookupError for an unknown interaction; RatingRefused when the reviewer is a
        dashboard account or the stored rating was not written through the API; ValueError for
        stars or thumbs out of range.
        """
        reviewer = (reviewer or "").strip()
        if not reviewer:
            raise ValueError("a rating needs the reviewer's name")
        unknown = set(changes) - set(_RATING_FIELDS)
        if unknown:
            raise ValueError(f"a rating has no field {min(unknown)!r}")
        stamp = now_iso()
        with self.store.write() as db:
            if db.execute("SELECT 1 FROM interactions WHERE id = ?", [interaction_id]).fetchone() is None:
                raise LookupError(f"No interaction with id {interaction_id}.")
            if db.execute("SELECT 1 FROM users WHERE name = ?", [reviewer]).fetchone():
                raise RatingRefused(_account_refusal(reviewer))
            stored = db.execute(
                "SELECT id, stars, thumbs, comment, tags, ideal_answer, source FROM ratings"
                " WHERE interaction_id = ? AND reviewer = ?", [interaction_id, reviewer]).fetchone()
            if stored is not None and stored["source"] != API_SOURCE:
                raise RatingRefused(
                    f"{reviewer!r} already rated interaction {interaction_id} on the dashboard or"
                    " in an import, and the API never replaces such a rating: rate under another"
                    " reviewer name.")
            values: dict[str, Any] = {field: None for field in _RATING_FIELDS}
            if stored is not None:
                values.update({field: stored[field] for field in _RATING_FIELDS})
                values["tags"] = json.loads(values["tags"] or "[]")
            values.update(changes)
            stars, thumbs = values["stars"], values["thumbs"]
            check_marks(stars, thumbs)
            rating = Rating(interaction_id, reviewer, stars, thumbs, values["comment"] or None,
                            clean_tags(values["tags"]),
                            values["ideal_answer"] or None, stamp, stamp, source=API_SOURCE)
            return write_ratings(db.conn, [rating], replace=True)[0]

    def feedback_batches(self, after_id: int = 0, limit: int = 50, *,
                         batch_chars: int = BATCH_CHARS,
                         batch_rows: int = BATCH_ROWS) -> Generator[list[dict[str, Any]], None, None]:
        """Up to ``limit`` interactions with their ratings, oldest first, after an id (keyset
        pagination), read a batch at a time: each batch holds about ``batch_chars`` characters
        of text (an interaction larger than that comes alone), so memory stays flat however
        large the rows; the database is not held between batches."""
        last, left = after_id, limit
        while left > 0:
            sizes = self.store.rows(_SIZES, [last, min(left, batch_rows)])
            if not sizes:
                return
            group: list[int] = []
            chars = 0
            for item in sizes:
                if group and chars + item["size"] > batch_chars:
                    yield self._feedback_rows(group)
                    group, chars = [], 0
                group.append(item["id"])
                chars += item["size"]
            yield self._feedback_rows(group)
            last = sizes[-1]["id"]
            left -= len(sizes)

    def feedback_page(self, after_id: int = 0, limit: int = 50) -> list[dict[str, Any]]:
        """Interactions with their ratings, oldest first, after an id (keyset pagination)."""
        return [row for batch in self.feedback_batches(after_id, limit) for row in batch]

    def _feedback_rows(self, ids: list[int]) -> list[dict[str, Any]]:
        rows = self.store.rows(
            "SELECT id, conversation_id, turn, question, answer, model, source, external_id,"
            f" error, created_at FROM interactions WHERE id IN ({_marks(ids)}) ORDER BY id", ids)
        ratings = self.store.rows(
            "SELECT interaction_id, reviewer, stars, thumbs, comment, tags, ideal_answer, updated_at"
            f" FROM ratings WHERE interaction_id IN ({_marks(ids)}) ORDER BY id", ids)
        by_item: dict[int, list[dict[str, Any]]] = {}
        for rating in ratings:
            rating["tags"] = json.loads(rating["tags"] or "[]")
            by_item.setdefault(rating.pop("interaction_id"), []).append(rating)
        for row in rows:
            row["ratings"] = by_item.get(row["id"], [])
        return rows


def _account_refusal(name: str) -> str:
    return (f"{name!r} is a dashboard account, and an API token never writes as a dashboard"
            " reviewer: rate under another reviewer name.")
