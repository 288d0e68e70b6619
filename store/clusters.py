"""Clusters queries of the Store (a mixin: uses the Store's _rows, _one, _scalar and write).

The failure-themes page clusters the questions of low-rated interactions. "Low-rated" reads the
rating summary columns that migration m003 keeps: someone gave 2 stars or fewer
(``stars_min <= 2``) or someone gave a thumbs down (``thumbs_down > 0``).
"""

from __future__ import annotations

from typing import Any

from store.filtering import where_clause

LOW_RATED_STARS = 2  # an interaction is low-rated when someone gave it this many stars or fewer
ANSWER_CHARS = 2000  # characters of an answer fetched for clustering (answers can be long)


def _scope(filters: Any, low_rated: bool, alias: str = "i") -> tuple[str, list[Any]]:
    where, params = where_clause(filters, alias)
    if low_rated:
        where = f"({alias}.stars_min <= ? OR {alias}.thumbs_down > 0) AND {where}"
        params = [LOW_RATED_STARS, *params]
    return where, params


class ClustersMixin:
    """Clusters methods of the Store."""

    def cluster_items(
        self,
        filters: Any = None,
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
        rows = self._rows(
            f"SELECT i.id, i.question, {answer} AS answer, i.stars_mean, i.thumbs_up,"
            " i.thumbs_down, i.model, v.name AS variant, i.created_at"
            " FROM interactions i LEFT JOIN variants v ON v.id = i.variant_id"
            f" WHERE {where} ORDER BY i.id DESC LIMIT ?",
            [*params, int(limit)],
        )
        rows.reverse()
        return rows

    def cluster_source(self, filters: Any = None, *, low_rated: bool = True) -> dict[str, Any]:
        """How many items a clustering would cover, and a fingerprint that changes with them.

        The fingerprint changes when an item joins or leaves the scope or its ratings change,
        and not when unrelated rows do, so cached themes survive other people's work.
        """
        where, params = _scope(filters, low_rated)
        row = self._one(
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
