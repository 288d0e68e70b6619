"""Turn dashboard Filters into SQL over `interactions`.

Rating filters read the per-interaction rating summary that migration m003 keeps
(rating_count, stars_min/max, thumbs_up/down, ideal_count), so they are plain column tests.
Filters that name rows in other tables (search, tags, reviewers, explicit ids) become
"drivers": subqueries yielding interaction ids, which a query can either test membership in
or start from when they are selective. `where_clause` joins everything into one condition.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from store.store_text import fts_query


@dataclass(frozen=True)
class Driver:
    """A subquery yielding interaction ids as a column named `id`."""

    sql: str
    params: tuple[Any, ...] = ()
    unique: bool = False  # True when no id comes twice
    complete: bool = False  # True when every id it yields is an existing interaction


@dataclass(frozen=True)
class FilterSQL:
    """The parts of a filter: conditions over the interaction alias, and id subqueries."""

    conditions: tuple[str, ...] = ()
    params: tuple[Any, ...] = ()
    drivers: tuple[Driver, ...] = field(default=())

    def where(
        self, alias: str, skip: Driver | None = None, *, probe: bool = False
    ) -> tuple[str, list[Any]]:
        """Every condition and driver (but `skip`) as one SQL condition and its parameters.

        With ``probe`` the drivers are only tested, never used to find rows (`+id` keeps
        SQLite from looking rows up by them), for queries that start from another index.
        """
        clauses = list(self.conditions)
        params = list(self.params)
        for driver in self.drivers:
            if driver is skip:
                continue
            clauses.append(f"{'+' if probe else ''}{alias}.id IN ({driver.sql})")
            params.extend(driver.params)
        return (" AND ".join(clauses) or "1"), params


def where_clause(filters: Any, alias: str = "i") -> tuple[str, list[Any]]:
    """SQL condition (never empty: '1' when nothing filters) and its parameters."""
    return filter_sql(filters, alias).where(alias)


def filter_sql(filters: Any, alias: str = "i") -> FilterSQL:
    """The conditions and id subqueries of ``filters`` (None filters nothing)."""
    a = alias
    clauses: list[str] = []
    params: list[Any] = []
    drivers: list[Driver] = []
    if filters is None:
        return FilterSQL()

    def add(clause: str, *values: Any) -> None:
        clauses.append(clause)
        params.extend(values)

    if filters.ids:
        ids = sorted({int(i) for i in filters.ids})
        drivers.append(
            Driver("SELECT value AS id FROM json_each(?)", (json.dumps(ids),), unique=True)
        )
    query = fts_query(filters.search or "")
    if query:
        drivers.append(
            Driver(
                "SELECT rowid AS id FROM interactions_fts WHERE interactions_fts MATCH ?",
                (query,),
                unique=True,
                complete=True,
            )
        )
    thumbs = None if not filters.thumbs else (1 if filters.thumbs == "up" else -1)
    if filters.reviewers:
        # A reviewer is named: every rating filter applies to that reviewer's own rating.
        drivers.append(_reviewer_driver(filters, thumbs))
    else:
        if filters.stars_min is not None:
            add(f"{a}.stars_max >= ?", int(filters.stars_min))
        if filters.stars_max is not None:
            add(f"{a}.stars_min <= ?", int(filters.stars_max))
        if thumbs == 1:
            add(f"{a}.thumbs_up > 0")
        elif thumbs == -1:
            add(f"{a}.thumbs_down > 0")
        if filters.has_ideal is True:
            add(f"{a}.ideal_count > 0")
        elif filters.has_ideal is False:
            add(f"{a}.ideal_count = 0")
        if filters.tags:
            drivers.append(
                Driver(
                    "SELECT interaction_id AS id FROM rating_tags"
                    f" WHERE tag IN ({_marks(filters.tags)})",
                    tuple(filters.tags),
                    complete=True,
                )
            )
    if filters.unrated_by:
        add(
            f"NOT EXISTS (SELECT 1 FROM ratings ur WHERE ur.interaction_id = {a}.id"
            " AND ur.reviewer = ?)",
            filters.unrated_by,
        )
    elif filters.unrated:
        add(f"{a}.rating_count = 0")
    if filters.models:
        add(f"{a}.model IN ({_marks(filters.models)})", *filters.models)
    if filters.variants:
        add(
            f"{a}.variant_id IN"
            f" (SELECT id FROM variants WHERE name IN ({_marks(filters.variants)}))",
            *filters.variants,
        )
    if filters.sources:
        add(f"{a}.source IN ({_marks(filters.sources)})", *filters.sources)
    if filters.date_from is not None:
        add(f"{a}.created_at >= ?", filters.date_from.isoformat())
    if filters.date_to is not None:
        add(f"{a}.created_at < ?", (filters.date_to + timedelta(days=1)).isoformat())
    if filters.errors is True:
        add(f"{a}.error IS NOT NULL")
    elif filters.errors is False:
        add(f"{a}.error IS NULL")
    return FilterSQL(tuple(clauses), tuple(params), tuple(drivers))


def _reviewer_driver(filters: Any, thumbs: int | None) -> Driver:
    clauses = [f"r.reviewer IN ({_marks(filters.reviewers)})"]
    params: list[Any] = list(filters.reviewers)
    if filters.stars_min is not None:
        clauses.append("r.stars >= ?")
        params.append(int(filters.stars_min))
    if filters.stars_max is not None:
        clauses.append("r.stars <= ?")
        params.append(int(filters.stars_max))
    if thumbs is not None:
        clauses.append("r.thumbs = ?")
        params.append(thumbs)
    if filters.has_ideal is True:
        clauses.append("r.ideal_answer IS NOT NULL")
    elif filters.has_ideal is False:
        clauses.append("r.ideal_answer IS NULL")
    if filters.tags:
        clauses.append(
            "EXISTS (SELECT 1 FROM rating_tags t WHERE t.rating_id = r.id"
            f" AND t.tag IN ({_marks(filters.tags)}))"
        )
        params.extend(filters.tags)
    return Driver(
        f"SELECT r.interaction_id AS id FROM ratings r WHERE {' AND '.join(clauses)}",
        tuple(params),
        unique=len(filters.reviewers) == 1,
        complete=True,
    )


def _marks(values: Any) -> str:
    return ", ".join("?" for _ in values)
