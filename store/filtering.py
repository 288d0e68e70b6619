"""Turn Filters (store/filters.py) into SQL over `interactions`.

Rating filters read the per-interaction rating summary that migration m003 keeps
(rating_count, stars_min/max/mean, thumbs_up/down, ideal_count), so they are plain column
tests; only "any rating in the range" needs to look at single ratings, and only for the few
items whose ratings lie on both sides of the range.
Filters that name rows in other tables (search, tags, reviewers, explicit ids) become
"drivers": subqueries yielding interaction ids, which a query can either test membership in
or start from when they are selective. `where_clause` joins everything into one condition.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from store.filters import Filters
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


def where_clause(filters: Filters | None, alias: str = "i") -> tuple[str, list[Any]]:
    """SQL condition (never empty: '1' when nothing filters) and its parameters."""
    return filter_sql(filters, alias).where(alias)


def filter_sql(filters: Filters | None, alias: str = "i") -> FilterSQL:
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
        _stars(filters, a, add)
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


def _stars(filters: Filters, a: str, add: Any) -> None:
    """The stars range over the rating summary of interaction alias ``a``, as the mode says."""
    low, high = filters.stars_min, filters.stars_max
    if low is None and high is None:
        return
    low = None if low is None else int(low)
    high = None if high is None else int(high)
    # Every mode needs a rating inside [low, high] or around it: min <= high and max >= low.
    # These two tests read the covering index and leave few rows for the rest.
    if low is not None:
        add(f"{a}.stars_max >= ?", low)
    if high is not None:
        add(f"{a}.stars_min <= ?", high)
    mode = filters.stars_mode
    if mode == "every":
        if low is not None:
            add(f"{a}.stars_min >= ?", low)
        if high is not None:
            add(f"{a}.stars_max <= ?", high)
    elif mode == "mean":
        # store.filters.mean_tenths(mean) = floor(mean * 10 + 0.5), the value shown.
        if low is not None:
            add(f"{a}.stars_mean * 10 + 0.5 >= ?", low * 10)
        if high is not None:
            add(f"{a}.stars_mean * 10 + 0.5 < ?", high * 10 + 1)
    elif low is not None and high is not None:
        # any: the lowest or the highest rating is in the range, or some rating between them
        add(
            f"({a}.stars_min >= ? OR {a}.stars_max <= ? OR EXISTS (SELECT 1 FROM ratings sr"
            f" WHERE sr.interaction_id = {a}.id AND sr.stars BETWEEN ? AND ?))",
            low, high, low, high,
        )


def _reviewer_driver(filters: Filters, thumbs: int | None) -> Driver:
    clauses = [f"r.reviewer IN ({_marks(filters.reviewers)})"]
    params: list[Any] = list(filters.reviewers)
    low, high = filters.stars_min, filters.stars_max
    # One reviewer rates an item once: any, every and mean of one rating are the same test.
    mode = filters.stars_mode if len(set(filters.reviewers)) > 1 else "any"
    if mode == "any":
        if low is not None:
            clauses.append("r.stars >= ?")
            params.append(int(low))
        if high is not None:
            clauses.append("r.stars <= ?")
            params.append(int(high))
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
    if mode != "any" and (low is not None or high is not None):
        # The stars range reads all of these reviewers' ratings together; the other tests
        # must still hold on one of their ratings.
        where, rest = clauses[0], clauses[1:]
        having: list[str] = []
        having_params: list[Any] = []
        if mode == "every":
            if low is not None:
                having.append("MIN(r.stars) >= ?")
                having_params.append(int(low))
            if high is not None:
                having.append("MAX(r.stars) <= ?")
                having_params.append(int(high))
        else:  # mean, rounded as shown (store.filters.mean_tenths)
            if low is not None:
                having.append("AVG(r.stars) * 10 + 0.5 >= ?")
                having_params.append(int(low) * 10)
            if high is not None:
                having.append("AVG(r.stars) * 10 + 0.5 < ?")
                having_params.append(int(high) * 10 + 1)
        if rest:
            having.append(f"MAX({' AND '.join(rest)})")
        return Driver(
            f"SELECT r.interaction_id AS id FROM ratings r WHERE {where}"
            f" GROUP BY r.interaction_id HAVING {' AND '.join(having)}",
            (*filters.reviewers, *having_params, *params[len(filters.reviewers):]),
            unique=True,
            complete=True,
        )
    return Driver(
        f"SELECT r.interaction_id AS id FROM ratings r WHERE {' AND '.join(clauses)}",
        tuple(params),
        unique=len(filters.reviewers) == 1,
        complete=True,
    )


def _marks(values: Any) -> str:
    return ", ".join("?" for _ in values)
