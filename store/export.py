"""Rows for fine-tuning exports, streamed in id order, and the record of every export."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from store.area import Area, inserted_id
from store.filtering import where_clause
from store.filters import Filters
from store.store_text import now_iso

BATCH = 5_000

# The best target of an interaction: the newest ideal answer when a reviewer wrote one.
_IDEAL = (
    "CASE WHEN i.ideal_count > 0 THEN (SELECT r.ideal_answer FROM ratings r"
    " WHERE r.interaction_id = i.id AND r.ideal_answer IS NOT NULL"
    " ORDER BY r.updated_at DESC LIMIT 1) END"
)


class Exports(Area):
    """Export methods of the Store."""

    def iter_export_items(
        self,
        filters: Filters,
        *,
        min_stars: float | None = None,
        only_ideal: bool = False,
        only_agree: bool = False,
        exclude_ids: tuple[int, ...] = (),
        batch: int = BATCH,
    ) -> Iterator[dict[str, Any]]:
        """Interactions to export as training targets, in batches (the lock is held per batch).

        An item with an ideal answer counts as approved; otherwise ``min_stars`` judges the
        model's answer by its mean stars (an item with thumbs but no stars passes on a majority
        of thumbs up). Failed calls without an ideal answer are left out.
        """
        where, params = where_clause(filters, "i")
        clauses = [where, "(i.answer IS NOT NULL OR i.ideal_count > 0)"]
        if only_ideal:
            clauses.append("i.ideal_count > 0")
        if min_stars is not None:
            clauses.append(
                "(i.ideal_count > 0 OR i.stars_mean >= ? OR (i.stars_mean IS NULL"
                " AND i.thumbs_up > i.thumbs_down))"
            )
            params = [*params, min_stars]
        if only_agree:
            clauses.append(
                "(i.rating_count < 2 OR ((i.stars_max IS NULL OR i.stars_max - i.stars_min <= 1)"
                " AND (i.thumbs_up = 0 OR i.thumbs_down = 0)))"
            )
        if exclude_ids:
            clauses.append(f"i.id NOT IN ({', '.join('?' for _ in exclude_ids)})")
            params = [*params, *exclude_ids]
        sql = (
            "SELECT i.id, i.conversation_id, i.turn, i.question, i.answer, i.system_prompt,"
            f" i.model, i.variant_id, i.stars_mean, i.thumbs_up, i.thumbs_down, {_IDEAL} AS ideal,"
            " (SELECT MAX(j.turn) FROM interactions j WHERE j.conversation_id = i.conversation_id)"
            " AS last_turn"
            f" FROM interactions i WHERE {' AND '.join(clauses)} AND i.id > ? ORDER BY i.id LIMIT ?"
        )
        last = 0
        while True:
            rows = self.store.rows(sql, [*params, last, batch])
            if not rows:
                return
            yield from rows
            last = rows[-1]["id"]

    def conversation_context(self, conversation_id: int, up_to_turn: int) -> list[dict[str, Any]]:
        """Turns of a conversation up to a turn, each with its ideal answer when there is one."""
        return self.store.rows(
            f"SELECT i.id, i.turn, i.question, i.answer, i.error, i.system_prompt, {_IDEAL} AS ideal"
            " FROM interactions i WHERE i.conversation_id = ? AND i.turn <= ? ORDER BY i.turn, i.id",
            [conversation_id, up_to_turn],
        )

    def iter_vote_pairs(self, filters: Filters) -> Iterator[dict[str, Any]]:
        """Decisive pairwise votes whose answers are both stored, oldest first."""
        where, params = where_clause(filters, "a")
        sql = (
            "SELECT c.id, c.question, c.winner, c.interaction_a, c.interaction_b,"
            " a.answer AS answer_a, b.answer AS answer_b"
            " FROM comparisons c JOIN interactions a ON a.id = c.interaction_a"
            " JOIN interactions b ON b.id = c.interaction_b"
            f" WHERE c.winner IN ('a', 'b') AND a.answer IS NOT NULL AND b.answer IS NOT NULL"
            f" AND {where} AND c.id > ? ORDER BY c.id LIMIT ?"
        )
        last = 0
        while True:
            rows = self.store.rows(sql, [*params, last, BATCH])
            if not rows:
                return
            yield from rows
            last = rows[-1]["id"]

    def rated_answers_by_question(self, filters: Filters, min_gap: float) -> Iterator[dict[str, Any]]:
        """For each question with answers rated at least ``min_gap`` stars apart: best and worst."""
        where, params = where_clause(filters, "i")
        sql = (
            "WITH rated AS (SELECT i.id, i.question, i.answer, i.stars_mean,"
            " ROW_NUMBER() OVER (PARTITION BY i.question ORDER BY i.stars_mean DESC, i.id) AS best,"
            " ROW_NUMBER() OVER (PARTITION BY i.question ORDER BY i.stars_mean ASC, i.id) AS worst"
            f" FROM interactions i WHERE {where} AND i.stars_mean IS NOT NULL"
            " AND i.answer IS NOT NULL)"
            " SELECT h.question, h.id AS chosen_id, h.answer AS chosen, l.id AS rejected_id,"
            " l.answer AS rejected, h.stars_mean - l.stars_mean AS gap"
            " FROM rated h JOIN rated l ON l.question = h.question AND l.worst = 1"
            " WHERE h.best = 1 AND h.stars_mean - l.stars_mean >= ? AND h.answer != l.answer"
            " ORDER BY h.id"
        )
        yield from self.store.rows(sql, [*params, min_gap])

    def set_questions(self, set_id: int) -> list[str]:
        """The questions of a question set (for the leakage check)."""
        return [r["question"] for r in self.store.rows(
            "SELECT question FROM question_set_items WHERE set_id = ?", [set_id])]

    # -- the record of exports ------------------------------------------------------

    def record_export(
        self,
        *,
        format: str,
        options: dict[str, Any],
        counts: dict[str, Any],
        sha256: str,
        path: str | None,
        who: str | None,
    ) -> int:
        """Remember an export so a training set can be traced back and reproduced."""
        with self.store.write() as db:
            cursor = db.execute(
                "INSERT INTO exports (format, options, counts, rows, sha256, path, who, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [format, json.dumps(options, sort_keys=True), json.dumps(counts),
                 counts.get("written", 0), sha256, path, who, now_iso()],
            )
            return inserted_id(cursor)

    def list_exports(self, limit: int = 100) -> list[dict[str, Any]]:
        """Past exports, newest first, with options and counts decoded."""
        rows = self.store.rows("SELECT * FROM exports ORDER BY id DESC LIMIT ?", [limit])
        for row in rows:
            row["options"] = json.loads(row["options"] or "{}")
            row["counts"] = json.loads(row["counts"] or "{}")
        return rows
