"""Turn dashboard Filters into a SQL WHERE clause over `interactions`."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from store.store_text import fts_query


def where_clause(filters: Any, alias: str = "i") -> tuple[str, list[Any]]:
    """SQL condition (never empty: '1' when nothing filters) and its parameters."""
    a = alias
    clauses: list[str] = []
    params: list[Any] = []

    def rating_exists(condition: str, values: list[Any]) -> None:
        clauses.append(
            f"EXISTS (SELECT 1 FROM ratings r WHERE r.interaction_id = {a}.id AND {condition})"
        )
        params.extend(values)

    if filters.stars_min is not None:
        rating_exists("r.stars >= ?", [filters.stars_min])
    if filters.stars_max is not None:
        rating_exists("r.stars <= ?", [filters.stars_max])
    if filters.thumbs:
        rating_exists("r.thumbs = ?", [1 if filters.thumbs == "up" else -1])
    if filters.reviewers:
        rating_exists(f"r.reviewer IN ({_marks(filters.reviewers)})", list(filters.reviewers))
    if filters.has_ideal is True:
        rating_exists("r.ideal_answer IS NOT NULL", [])
    elif filters.has_ideal is False:
        clauses.append(
            f"NOT EXISTS (SELECT 1 FROM ratings r WHERE r.interaction_id = {a}.id"
            " AND r.ideal_answer IS NOT NULL)"
        )
    if filters.tags:
        clauses.append(
            f"EXISTS (SELECT 1 FROM rating_tags t WHERE t.interaction_id = {a}.id"
            f" AND t.tag IN ({_marks(filters.tags)}))"
        )
        params.extend(filters.tags)
    if filters.unrated_by:
        clauses.append(
            f"NOT EXISTS (SELECT 1 FROM ratings r WHERE r.interaction_id = {a}.id"
            " AND r.reviewer = ?)"
        )
        params.append(filters.unrated_by)
    elif filters.unrated:
        clauses.append(f"NOT EXISTS (SELECT 1 FROM ratings r WHERE r.interaction_id = {a}.id)")
    if filters.models:
        clauses.append(f"{a}.model IN ({_marks(filters.models)})")
        params.extend(filters.models)
    if filters.variants:
        clauses.append(
            f"{a}.variant_id IN (SELECT id FROM variants WHERE name IN ({_marks(filters.variants)}))"
        )
        params.extend(filters.variants)
    if filters.sources:
        clauses.append(f"{a}.source IN ({_marks(filters.sources)})")
        params.extend(filters.sources)
    if filters.date_from is not None:
        clauses.append(f"{a}.created_at >= ?")
        params.append(filters.date_from.isoformat())
    if filters.date_to is not None:
        clauses.append(f"{a}.created_at < ?")
        params.append((filters.date_to + timedelta(days=1)).isoformat())
    if filters.errors is True:
        clauses.append(f"{a}.error IS NOT NULL")
    elif filters.errors is False:
        clauses.append(f"{a}.error IS NULL")
    if filters.ids:
        clauses.append(f"{a}.id IN ({_marks(filters.ids)})")
        params.extend(filters.ids)
    if filters.search and fts_query(filters.search):
        clauses.append(
            f"{a}.id IN (SELECT rowid FROM interactions_fts WHERE interactions_fts MATCH ?)"
        )
        params.append(fts_query(filters.search))
    return (" AND ".join(clauses) or "1"), params


def _marks(values: Any) -> str:
    return ", ".join("?" for _ in values)
