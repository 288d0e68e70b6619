"""Theme queries of the Store (``store.themes``): what clustering reads and the saved theme runs.

The failure-themes page clusters the questions of low-rated interactions. This module is the one
home of what "low-rated" means: it reads the rating summary columns that migration m003 keeps,
someone gave ``LOW_RATED_STARS`` stars or fewer (``stars_min``) or a thumbs down
(``thumbs_down > 0``); ``LOW_RATED_TEXT`` says the same to people.

Saved theme runs (migration m016) keep themes, their names and members, so that new items can
join the nearest saved theme and a theme's trend can be followed week after week.
"""

from __future__ import annotations

import json
from typing import Any

from store.area import Area, inserted_id
from store.filtering import where_clause
from store.filters import Filters
from store.store_text import now_iso

LOW_RATED_STARS = 2  # an interaction is low-rated when someone gave it this many stars or fewer
LOW_RATED_TEXT = f"rated {LOW_RATED_STARS} stars or fewer by someone, or given a thumbs down"
ANSWER_CHARS = 2000  # characters of an answer fetched for clustering (answers can be long)


def _scope(filters: Filters | None, low_rated: bool, alias: str = "i") -> tuple[str, list[Any]]:
    where, params = where_clause(filters, alias)
    if low_rated:
        where = f"({alias}.stars_min <= ? OR {alias}.thumbs_down > 0) AND {where}"
        params = [LOW_RATED_STARS, *params]
    return where, params


class Themes(Area):
    """Clusters methods of the Store."""

    def cluster_items(
        self,
        filters: Filters | None = None,
        *,
        low_rated: bool = True,
        with_answers: bool = False,
        limit: int = 200_000,
    ) -> list[dict[str, Any]]:
        """The items to cluster (the newest ``limit`` of them), oldest first.

        Each row: id, question, answer (the first 2,000 characters, only ``with_answers``),
        stars_mean, thumbs_up, thumbs_down, model, variant (name), created_at.
        """
        where, params = _scope(filters, low_rated)
        answer = f"substr(i.answer, 1, {ANSWER_CHARS})" if with_answers else "NULL"
        rows = self.store.rows(
            f"SELECT i.id, i.question, {answer} AS answer, i.stars_mean, i.thumbs_up,"
            " i.thumbs_down, i.model, v.name AS variant, i.created_at"
            " FROM interactions i LEFT JOIN variants v ON v.id = i.variant_id"
            f" WHERE {where} ORDER BY i.id DESC LIMIT ?",
            [*params, int(limit)],
        )
        rows.reverse()
        return rows

    def cluster_source(self, filters: Filters | None = None, *, low_rated: bool = True) -> dict[str, Any]:
        """How many items a clustering would cover, and a fingerprint that changes with them.

        The fingerprint changes when an item joins or leaves the scope or its ratings change,
        and not when unrelated rows do, so cached themes survive other people's work.
        """
        where, params = _scope(filters, low_rated)
        row = self.store.one(
            "SELECT COUNT(*) AS n, TOTAL(i.id) AS ids,"
            " TOTAL(i.id * (COALESCE(i.stars_mean, 0) + 7 * i.thumbs_down + 3 * i.thumbs_up))"
            " AS ratings, MAX(i.id) AS last"
            f" FROM interactions i WHERE {where}",
            params,
        ) or {}
        count = int(row.get("n") or 0)
        return {
            "count": count,
            "fingerprint": (count, row.get("ids"), row.get("ratings"), row.get("last")),
        }

    # -- saved theme runs -----------------------------------------------------

    def save_theme_run(self, run: dict[str, Any], themes: list[dict[str, Any]]) -> int:
        """Keep a run and its themes with their members, in one transaction; returns its id.

        ``run``: name, created_by, vectorizer, embedding, settings (dict), n_items.
        Each theme: name, label, terms (list), centre (bytes), threshold, and members as
        (interaction id, similarity) pairs, most typical first.
        """
        with self.store.write() as db:
            cursor = db.execute(
                "INSERT INTO theme_runs (name, created_at, created_by, vectorizer, embedding,"
                " settings, n_items) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [run["name"], now_iso(), run.get("created_by"), run["vectorizer"], run["embedding"],
                 json.dumps(run.get("settings") or {}, sort_keys=True), int(run["n_items"])],
            )
            run_id = inserted_id(cursor)
            for position, theme in enumerate(themes):
                theme_id = inserted_id(db.execute(
                    "INSERT INTO saved_themes (run_id, position, name, label, terms, size, centre,"
                    " threshold) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    [run_id, position, theme["name"], theme["label"], json.dumps(theme.get("terms") or []),
                     len(theme["members"]), theme["centre"], float(theme["threshold"])],
                ))
                db.conn.executemany(
                    "INSERT INTO saved_theme_members (theme_id, interaction_id, similarity)"
                    " VALUES (?, ?, ?)",
                    [(theme_id, int(i), float(sim)) for i, sim in theme["members"]],
                )
        return run_id

    def theme_runs(self) -> list[dict[str, Any]]:
        """Saved runs, newest first: id, name, created_at, created_by, vectorizer, n_items, themes."""
        rows = self.store.rows(
            "SELECT r.id, r.name, r.created_at, r.created_by, r.vectorizer, r.embedding, r.settings,"
            " r.n_items, (SELECT COUNT(*) FROM saved_themes t WHERE t.run_id = r.id) AS themes"
            " FROM theme_runs r ORDER BY r.id DESC"
        )
        for row in rows:
            row["settings"] = json.loads(row["settings"] or "{}")
        return rows

    def saved_themes(self, run_id: int) -> list[dict[str, Any]]:
        """A run's themes in their order: id, position, name, label, terms, size, centre, threshold."""
        rows = self.store.rows(
            "SELECT id, position, name, label, terms, size, centre, threshold FROM saved_themes"
            " WHERE run_id = ? ORDER BY position",
            [int(run_id)],
        )
        for row in rows:
            row["terms"] = json.loads(row["terms"] or "[]")
        return rows

    def saved_theme_members(self, run_id: int) -> dict[int, int]:
        """interaction id -> saved theme id, for a run's members."""
        rows = self.store.rows(
            "SELECT m.interaction_id, m.theme_id FROM saved_theme_members m"
            " JOIN saved_themes t ON t.id = m.theme_id WHERE t.run_id = ?",
            [int(run_id)],
        )
        return {int(r["interaction_id"]): int(r["theme_id"]) for r in rows}

    def rename_saved_theme(self, theme_id: int, name: str) -> None:
        """Give a saved theme a new name."""
        with self.store.write() as db:
            db.execute("UPDATE saved_themes SET name = ? WHERE id = ?", [name, int(theme_id)])
