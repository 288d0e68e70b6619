"""Review queries of the Store (``store.review``): ratings and what the review pages read.

Plans are chosen here rather than left to SQLite's planner, which, without statistics, likes
to walk a narrow index and sort a third of the table. Two shapes cover every filter:

- a *scan* of `idx_interactions_review_mean` in time order (created_at, id), testing the rating
  summary and the other columns inside the index: the first page stops as soon as 50 rows
  match, and a full count never touches the wide rows;
- a *driven* plan that starts from a selective id subquery (search words, tags, a reviewer,
  explicit ids) and sorts the few rows it finds.

Counts with a driver stop at ``COUNT_CAP``; the page then knows whether the matches are few
(driven plan) or many (scan plan).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from store.area import Area
from store.filtering import Driver, FilterSQL, filter_sql
from store.filters import Filters
from store.ratings import Rating, check_marks, clean_tags, write_ratings
from store.store_text import fts_query, now_iso

COUNT_CAP = 100_000  # counts that need a subquery stop here and say "more than"
DRIVEN_PLAN_MAX = 20_000  # up to this many matches, sort them; beyond, scan in time order
PAGE_SIZE = 50
OPTION_LIMIT = 500  # at most this many distinct values offered in a filter select

REVIEW_INDEX = "idx_interactions_review_mean"  # m010; m003's idx_interactions_review before

_ROW_COLUMNS = """
    i.id, i.created_at, i.question, i.answer, i.model, i.backend, i.source,
    i.conversation_id, i.turn, i.error, i.latency_ms,
    v.name AS variant, v.version AS variant_version,
    i.rating_count, i.stars_mean, i.stars_min, i.stars_max, i.thumbs_up, i.thumbs_down,
    i.ideal_count,
    (SELECT group_concat(tag, ', ') FROM (
        SELECT DISTINCT t.tag FROM ratings r JOIN rating_tags t ON t.rating_id = r.id
        WHERE r.interaction_id = i.id ORDER BY t.tag)) AS tags
"""


class Review(Area):
    """Review methods of the Store."""

    # -- the Review table -----------------------------------------------------

    def count_interactions(
        self, filters: Filters | None = None, *, cap: int | None = COUNT_CAP
    ) -> tuple[int, bool]:
        """How many interactions match: (count, exact). Inexact means 'more than count'."""
        return self._count(filter_sql(filters, "i"), cap=cap)

    def review_rows(
        self, filters: Filters | None = None, *, limit: int = PAGE_SIZE, offset: int = 0,
        matches: int | None = None,
    ) -> list[dict[str, Any]]:
        """One page of matching interactions, newest first, with their rating summary and tags.

        ``matches`` is the count from `count_interactions` when the caller has it: it
        chooses the plan (saves counting again).
        """
        parts = filter_sql(filters, "i")
        if matches is None and parts.drivers:
            matches, _ = self._count(parts, cap=DRIVEN_PLAN_MAX + 1)
        order = "ORDER BY i.created_at DESC, i.id DESC"
        if parts.drivers and matches is not None and matches <= DRIVEN_PLAN_MAX:
            source, where, params = self._driven(parts)
        else:
            where, params = parts.where("i")
            source = f"interactions i INDEXED BY {REVIEW_INDEX}"
        ids = [
            row["id"]
            for row in self.store.rows(
                f"SELECT i.id FROM {source} WHERE {where} {order} LIMIT ? OFFSET ?",
                [*params, int(limit), int(offset)],
            )
        ]
        return self._rows_by_ids(ids, order)

    def filter_options(self) -> dict[str, list[str]]:
        """Distinct values the filter selects offer: models, variants, reviewers, tags, sources."""
        return {
            "models": self._distinct("interactions", "model"),
            "variants": [
                row["name"]
                for row in self.store.rows("SELECT DISTINCT name FROM variants ORDER BY name")
            ],
            "reviewers": self._distinct("ratings", "reviewer"),
            "tags": self._distinct("rating_tags", "tag"),
            "sources": self._distinct("interactions", "source"),
        }

    def interaction_detail(self, interaction_id: int) -> dict[str, Any] | None:
        """One interaction with its variant, every turn of its conversation, and its ratings."""
        row = self.store.one(
            "SELECT i.*, v.name AS variant, v.version AS variant_version"
            " FROM interactions i LEFT JOIN variants v ON v.id = i.variant_id WHERE i.id = ?",
            [int(interaction_id)],
        )
        if row is None:
            return None
        if row["conversation_id"] is not None:
            turns = self.store.rows(
                "SELECT id, turn, question, answer, error, model, created_at FROM interactions"
                " WHERE conversation_id = ? ORDER BY turn, id",
                [row["conversation_id"]],
            )
        else:
            turns = [row]
        ratings = self.store.rows(
            "SELECT * FROM ratings WHERE interaction_id = ? ORDER BY updated_at, reviewer",
            [int(interaction_id)],
        )
        for rating in ratings:
            rating["tags"] = json.loads(rating.get("tags") or "[]")
        return {"interaction": row, "turns": turns, "ratings": ratings}

    def interaction_briefs(self, ids: Iterable[int]) -> list[dict[str, Any]]:
        """Short rows (question, answer, model, rating summary) for these ids, in id order."""
        return self._rows_by_ids(sorted({int(i) for i in ids}), "ORDER BY i.id")

    # -- the annotation queue -------------------------------------------------

    def next_unrated(
        self, reviewer: str, filters: Filters | None = None, *, after_id: int = 0,
        exclude: Iterable[int] = (),
    ) -> dict[str, Any] | None:
        """The answered interaction with the lowest id above ``after_id`` that matches
        ``filters``, that ``reviewer`` has not rated and that is not in ``exclude``."""
        parts = _with(
            filter_sql(filters, "i"),
            ["i.answer IS NOT NULL", "i.id > ?",
             ("NOT EXISTS (SELECT 1 FROM ratings q"
              " WHERE q.interaction_id = i.id AND q.reviewer = ?)")],
            [int(after_id), reviewer],
        )
        skipped = sorted({int(i) for i in exclude})
        if skipped:
            parts = _with(
                parts, ["i.id NOT IN (SELECT value FROM json_each(?))"], [json.dumps(skipped)]
            )
        if parts.drivers:
            source, where, params = self._driven(parts)
        else:
            where, params = parts.where("i")
            source = "interactions i NOT INDEXED"  # walk by id: the rowid order is the queue order
        row = self.store.one(f"SELECT i.id FROM {source} WHERE {where} ORDER BY i.id LIMIT 1", params)
        return None if row is None else self.store.ingest.get_interaction(row["id"])

    def queue_progress(self, reviewer: str, filters: Filters | None = None) -> tuple[int, int]:
        """(done, remaining): answered interactions matching ``filters`` that ``reviewer`` has
        rated, and has not rated yet."""
        # Few questions lack an answer: count everything, then take away the unanswered ones
        # found through their small partial index, instead of testing every row for an answer.
        parts = filter_sql(filters, "i")
        mine = Driver("SELECT interaction_id AS id FROM ratings WHERE reviewer = ?", (reviewer,),
                      unique=True, complete=True)
        rated = FilterSQL(parts.conditions, parts.params, (mine, *parts.drivers))
        total = self._count(parts, cap=None)[0] - self._count_unanswered(parts)
        done = self._count(rated, cap=None)[0] - self._count_unanswered(rated)
        return done, total - done

    # -- agreement ------------------------------------------------------------

    def overlapping_ratings(self, filters: Filters | None = None) -> list[dict[str, Any]]:
        """Ratings (interaction_id, reviewer, stars, thumbs) of the interactions that two or
        more reviewers rated, matching ``filters``."""
        where, params = filter_sql(filters, "i").where("i")
        return self.store.rows(
            "SELECT r.interaction_id, r.reviewer, r.stars, r.thumbs"
            " FROM interactions i INDEXED BY idx_interactions_overlap"
            " JOIN ratings r ON r.interaction_id = i.id"
            f" WHERE i.rating_count >= 2 AND {where} ORDER BY r.interaction_id, r.reviewer",
            params,
        )

    # -- plumbing -------------------------------------------------------------

    def _count(self, parts: FilterSQL, *, cap: int | None) -> tuple[int, bool]:
        if not parts.conditions and not parts.drivers:
            return int(self.store.scalar("SELECT COUNT(*) FROM interactions")), True
        if not parts.drivers:
            # Every test reads the covering index: an exact count costs one index scan.
            where, params = parts.where("i")
            sql = f"SELECT COUNT(*) FROM interactions i INDEXED BY {REVIEW_INDEX} WHERE {where}"
            return int(self.store.scalar(sql, params)), True
        only = parts.drivers[0]
        if not parts.conditions and len(parts.drivers) == 1 and only.unique and only.complete:
            # e.g. a search alone: count the index entries, no row is read
            return int(self.store.scalar(f"SELECT COUNT(*) FROM ({only.sql})", only.params)), True
        source, where, params = self._driven(parts)
        if cap is None:
            return int(self.store.scalar(f"SELECT COUNT(*) FROM {source} WHERE {where}", params)), True
        found = int(
            self.store.scalar(
                f"SELECT COUNT(*) FROM (SELECT 1 FROM {source} WHERE {where} LIMIT ?)",
                [*params, cap + 1],
            )
        )
        return min(found, cap), found <= cap

    def _count_unanswered(self, parts: FilterSQL) -> int:
        # Start from the questions without an answer (their partial index is small) and
        # only test the filter on those.
        where, params = parts.where("i", probe=True)
        return int(
            self.store.scalar(
                "SELECT COUNT(*) FROM (SELECT id FROM interactions WHERE answer IS NULL) AS u"
                f" CROSS JOIN interactions i ON i.id = u.id WHERE {where}",
                params,
            )
        )

    @staticmethod
    def _driven(parts: FilterSQL) -> tuple[str, str, list[Any]]:
        """FROM clause starting at the first driver, and the remaining WHERE."""
        driver = parts.drivers[0]
        ids = driver.sql if driver.unique else f"SELECT DISTINCT id FROM ({driver.sql})"
        where, params = parts.where("i", skip=driver)
        # CROSS JOIN keeps the driver as the outer loop.
        source = f"({ids}) AS d CROSS JOIN interactions i ON i.id = d.id"
        return source, where, [*driver.params, *params]

    def _rows_by_ids(self, ids: list[int], order: str) -> list[dict[str, Any]]:
        if not ids:
            return []
        return self.store.rows(
            f"SELECT {_ROW_COLUMNS} FROM interactions i LEFT JOIN variants v ON v.id = i.variant_id"
            f" WHERE i.id IN (SELECT value FROM json_each(?)) {order}",
            [json.dumps(ids)],
        )

    def _distinct(self, table: str, column: str) -> list[str]:
        # A loose index scan: one index seek per distinct value instead of reading every row.
        return [
            row["value"]
            for row in self.store.rows(
                f"WITH RECURSIVE seen(value) AS ("
                f" SELECT MIN({column}) FROM {table}"
                f" UNION ALL SELECT (SELECT MIN({column}) FROM {table} WHERE {column} > seen.value)"
                f" FROM seen WHERE seen.value IS NOT NULL LIMIT ?)"
                f" SELECT value FROM seen WHERE value IS NOT NULL",
                [OPTION_LIMIT],
            )
        ]

    # -- ratings --------------------------------------------------------------

    def search(self, text: str, limit: int = 50) -> list[dict[str, Any]]:
        """Interactions whose question or answer contains every word of ``text`` (FTS5)."""
        query = fts_query(text)
        if not query:
            return []
        return self.store.rows(
            "SELECT interactions.* FROM interactions_fts"
            " JOIN interactions ON interactions.id = interactions_fts.rowid"
            " WHERE interactions_fts MATCH ? ORDER BY rank LIMIT ?",
            [query, limit],
        )

    def save_rating(
        self,
        interaction_id: int,
        reviewer: str,
        *,
        stars: int | None = None,
        thumbs: int | None = None,
        comment: str | None = None,
        tags: list[str] | None = None,
        ideal_answer: str | None = None,
    ) -> int:
        """Create or replace this reviewer's rating of an interaction (as written on the
        dashboard); return the rating id."""
        reviewer = (reviewer or "").strip()
        if not reviewer:
            raise ValueError("a rating needs the reviewer's name")
        check_marks(stars, thumbs)
        stamp = now_iso()
        rating = Rating(interaction_id, reviewer, stars, thumbs, comment or None, clean_tags(tags),
                        ideal_answer or None, stamp, stamp, source="dashboard")
        with self.store.write() as db:
            return write_ratings(db.conn, [rating], replace=True)[0]

    def get_rating(self, interaction_id: int, reviewer: str) -> dict[str, Any] | None:
        """This reviewer's rating of an interaction, with tags as a list, or None."""
        row = self.store.one(
            "SELECT * FROM ratings WHERE interaction_id = ? AND reviewer = ?",
            [interaction_id, reviewer],
        )
        return _decode_rating(row) if row else None

    def ratings_for(self, interaction_id: int) -> list[dict[str, Any]]:
        """Every reviewer's rating of an interaction."""
        rows = self.store.rows(
            "SELECT * FROM ratings WHERE interaction_id = ? ORDER BY updated_at", [interaction_id]
        )
        return [_decode_rating(row) for row in rows]


def _with(parts: FilterSQL, conditions: list[str], params: list[Any]) -> FilterSQL:
    """``parts`` with more conditions (their parameters come after the existing ones)."""
    return FilterSQL(
        (*parts.conditions, *conditions), (*parts.params, *params), parts.drivers
    )


def _decode_rating(row: dict[str, Any]) -> dict[str, Any]:
    row["tags"] = json.loads(row.get("tags") or "[]")
    return row
