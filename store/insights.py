"""Insights queries of the Store (``store.insights``).

The Insights page reads rollup tables keyed by (UTC day, model, variant version, source); see
store/migrations_insights.py for their layout. This module fills them incrementally and
answers the page's aggregates from them.

Latency and time to first token are kept as histograms on fixed log-spaced buckets:
bucket ``b`` holds values in ``[10**(b/20), 10**((b+1)/20))`` milliseconds (20 buckets per
decade, each 12.2% wide; values under 1 ms fall in bucket 0). A percentile read from them is
the geometric middle of its bucket, within 6% of the exact value.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import date
from typing import Any

from store.area import Area
from store.filters import Filters

BUCKETS_PER_DECADE = 20

# Expressions giving a rollup key from an interaction row `i`.
_KEY_SQL = "substr(i.created_at, 1, 10), COALESCE(i.model, ''), COALESCE(i.variant_id, 0), i.source"
_KEY_COLUMNS = "day, model, variant_id, source"
_FAILED = "COALESCE(i.error, '') != ''"

# Period expressions over the rollup's `d.day` (ISO weeks start on Monday).
_PERIODS = {"day": "d.day", "week": "date(d.day, 'weekday 0', '-6 days')"}
# Dimensions a caller may group by, and the SQL behind each.
_DIMENSIONS = {"model": "d.model", "variant": "COALESCE(v.name, '')", "source": "d.source"}

USAGE_SUMS = ("calls", "counted", "prompt_tokens", "completion_tokens")
# Usage rows can also be grouped by the backend that answered.
_USAGE_DIMENSIONS = {**_DIMENSIONS, "backend": "d.backend"}
# The price that applies to a usage row `d`: its model's latest price from a day up to d.day.
_PRICE_JOIN = (
    " LEFT JOIN model_prices p ON p.id = (SELECT q.id FROM model_prices q"
    " WHERE q.model = d.model AND q.effective_from <= d.day"
    " ORDER BY q.effective_from DESC LIMIT 1)"
)

DAILY_SUMS = (
    "interactions", "failures", "reasks", "rated", "ratings", "starred", "stars_sum",
    "stars_1", "stars_2", "stars_3", "stars_4", "stars_5", "thumbs_up", "thumbs_down",
)


def _upsert_adding(columns: Iterable[str]) -> str:
    return ", ".join(f"{c} = {c} + excluded.{c}" for c in columns)


def _marks(values: Any) -> str:
    return ", ".join("?" for _ in values)


class Insights(Area):
    """Insights methods of the Store."""

    # -- refresh: state -------------------------------------------------------

    def state(self) -> dict[str, int]:
        """Watermarks of the rollup and how much is left to process (cheap: no counting)."""
        state = self.store.one(
            "SELECT turns_done, interactions_done, ratings_done,"
            " (SELECT COALESCE(MAX(id), 0) FROM interactions) AS max_interaction,"
            " (SELECT COALESCE(MAX(id), 0) FROM ratings) AS max_rating,"
            " (SELECT COUNT(*) FROM insight_dirty) AS dirty"
            " FROM insight_state WHERE id = 1"
        )
        return {k: int(v) for k, v in (state or {}).items()}

    def backlog(self) -> dict[str, int]:
        """What the next refresh must still process: turns, interactions, ratings, and the
        (day, model) pairs to recount."""
        state = self.state()
        return {
            "turns": self.store.scalar(
                "SELECT COUNT(*) FROM interactions WHERE id > ?", [state["turns_done"]]
            ),
            "interactions": self.store.scalar(
                "SELECT COUNT(*) FROM interactions WHERE id > ?", [state["interactions_done"]]
            ),
            "ratings": self.store.scalar(
                "SELECT COUNT(*) FROM ratings WHERE id > ?", [state["ratings_done"]]
            ),
            "recounts": state["dirty"],
        }

    # -- refresh: re-ask analysis ---------------------------------------------

    def next_turns(self, limit: int) -> dict[str, Any]:
        """The next `limit` interactions not yet analysed for re-asks.

        Returns ``after`` (the current watermark), ``upto`` (the highest id of the batch),
        ``scanned`` (its size) and ``turns``: for those that follow an earlier turn of the same
        conversation, ``{"id", "previous_id", "question", "previous_question"}``.
        """
        done = int(self.store.scalar("SELECT turns_done FROM insight_state WHERE id = 1"))
        upto, scanned = self.store.rows(  # an aggregate: always one row
            "SELECT MAX(id) AS upto, COUNT(*) AS scanned FROM"
            " (SELECT id FROM interactions WHERE id > ? ORDER BY id LIMIT ?)",
            [done, limit],
        )[0].values()
        if not scanned:
            return {"after": done, "upto": done, "scanned": 0, "turns": []}
        rows = self.store.rows(
            "SELECT i.id, p.id AS previous_id, i.question, p.question AS previous_question"
            " FROM interactions i JOIN interactions p ON p.id = ("
            "   SELECT q.id FROM interactions q"
            "   WHERE q.conversation_id = i.conversation_id AND q.turn < i.turn"
            "   ORDER BY q.turn DESC, q.id DESC LIMIT 1)"
            " WHERE i.id > ? AND i.id <= ? AND i.conversation_id IS NOT NULL AND i.turn > 1",
            [done, upto],
        )
        return {"after": done, "upto": int(upto), "scanned": int(scanned), "turns": rows}

    def save_turns(
        self, after: int, upto: int, turns: list[tuple[int, int, float, bool]]
    ) -> bool:
        """Store (id, previous_id, similarity, reask) for ids in (after, upto]; False if raced."""
        with self.store.write() as db:
            done = db.execute("SELECT turns_done FROM insight_state WHERE id = 1").fetchone()[0]
            if done != after:
                return False  # another session analysed this batch meanwhile
            db.conn.executemany(
                "INSERT OR REPLACE INTO insight_turns (interaction_id, previous_id, similarity,"
                " reask) VALUES (?, ?, ?, ?)",
                [(i, p, float(s), int(bool(r))) for i, p, s, r in turns],
            )
            db.execute("UPDATE insight_state SET turns_done = ? WHERE id = 1", [upto])
        return True

    def turn(self, interaction_id: int) -> dict[str, Any] | None:
        """The re-ask analysis of one interaction (None for a first turn or not analysed)."""
        return self.store.one("SELECT * FROM insight_turns WHERE interaction_id = ?", [interaction_id])

    # -- refresh: rollups -------------------------------------------------------

    def recount(self, limit: int = 10) -> int:
        """Recount up to `limit` (day, model) pairs whose counted rows changed; return how many."""
        with self.store.write() as db:
            pairs = db.execute(
                "SELECT day, model FROM insight_dirty ORDER BY day, model LIMIT ?", [limit]
            ).fetchall()
            state = db.execute(
                "SELECT interactions_done, ratings_done FROM insight_state WHERE id = 1"
            ).fetchone()
            for day, model in pairs:
                for table in ("insight_daily", "insight_timing", "insight_tags", "insight_usage"):
                    db.execute(f"DELETE FROM {table} WHERE day = ? AND model = ?", [day, model])
                # A prefix range and the model keep an index usable; substr() keeps it exact.
                # Unary + keeps the planner off a scan of the whole id range.
                pair = (
                    "i.model IS ? AND i.created_at >= ? AND i.created_at < ?"
                    " AND substr(i.created_at, 1, 10) = ?"
                )
                params = [model or None, day, day + "\U0010ffff", day]
                self._roll_up_interactions(f"{pair} AND +i.id <= ?", [*params, state[0]])
                self._roll_up_ratings(f"{pair} AND +r.id <= ?", [*params, state[1]])
                self._roll_up_tags(f"{pair} AND +r.id <= ?", [*params, state[1]])
                db.execute("DELETE FROM insight_dirty WHERE day = ? AND model = ?", [day, model])
            return len(pairs)

    def roll_up_interactions(self, limit: int) -> int:
        """Add the next `limit` analysed interactions to the rollup; return how many it added."""
        with self.store.write() as db:
            done, analysed = db.execute(
                "SELECT interactions_done, turns_done FROM insight_state WHERE id = 1"
            ).fetchone()
            upto = db.execute(
                "SELECT MAX(id), COUNT(*) FROM (SELECT id FROM interactions"
                " WHERE id > ? AND id <= ? ORDER BY id LIMIT ?)",
                [done, analysed, limit],
            ).fetchone()
            if upto[0] is None:
                return 0
            self._roll_up_interactions("i.id > ? AND i.id <= ?", [done, upto[0]])
            db.execute("UPDATE insight_state SET interactions_done = ? WHERE id = 1", [upto[0]])
            return int(upto[1])

    def roll_up_ratings(self, limit: int) -> int:
        """Add the next `limit` ratings (and their tags) to the rollup; return how many."""
        with self.store.write() as db:
            done = db.execute("SELECT ratings_done FROM insight_state WHERE id = 1").fetchone()[0]
            upto = db.execute(
                "SELECT MAX(id), COUNT(*) FROM (SELECT id FROM ratings WHERE id > ?"
                " ORDER BY id LIMIT ?)",
                [done, limit],
            ).fetchone()
            if upto[0] is None:
                return 0
            self._roll_up_ratings("r.id > ? AND r.id <= ?", [done, upto[0]])
            self._roll_up_tags("r.id > ? AND r.id <= ?", [done, upto[0]])
            db.execute("UPDATE insight_state SET ratings_done = ? WHERE id = 1", [upto[0]])
            return int(upto[1])

    def reset(self) -> None:
        """Forget the rollups and re-ask analysis: the next refresh recounts every row."""
        with self.store.write() as db:
            for table in ("insight_daily", "insight_timing", "insight_tags", "insight_turns",
                          "insight_dirty", "insight_usage"):
                db.execute(f"DELETE FROM {table}")
            db.execute(
                "UPDATE insight_state SET turns_done = 0, interactions_done = 0, ratings_done = 0"
            )

    def _roll_up_interactions(self, condition: str, params: list[Any]) -> None:
        """Add interactions matching `condition` (over `i`) to insight_daily and insight_timing."""
        counts = ("interactions", "failures", "reasks")
        self.store.db.execute(
            f"INSERT INTO insight_daily ({_KEY_COLUMNS}, {', '.join(counts)})"
            f" SELECT {_KEY_SQL}, COUNT(*), SUM({_FAILED}), SUM(COALESCE(t.reask, 0))"
            " FROM interactions i LEFT JOIN insight_turns t ON t.interaction_id = i.id"
            f" WHERE {condition} GROUP BY 1, 2, 3, 4"
            f" ON CONFLICT ({_KEY_COLUMNS}) DO UPDATE SET {_upsert_adding(counts)}",
            params,
        )
        # One pass over the rows gives both metrics: each row meets the two metric names.
        value = "CASE m.metric WHEN 'latency' THEN i.latency_ms ELSE i.ttft_ms END"
        self.store.db.execute(
            f"INSERT INTO insight_timing ({_KEY_COLUMNS}, metric, bucket, n)"
            f" SELECT {_KEY_SQL}, m.metric,"
            f" CAST(floor({BUCKETS_PER_DECADE} * log10(max({value}, 1))) AS INTEGER), COUNT(*)"
            " FROM interactions i"
            " CROSS JOIN (SELECT 'latency' AS metric UNION ALL SELECT 'ttft') AS m"
            f" WHERE {condition} AND {value} IS NOT NULL AND NOT {_FAILED}"
            " GROUP BY 1, 2, 3, 4, 5, 6"
            f" ON CONFLICT ({_KEY_COLUMNS}, metric, bucket) DO UPDATE SET n = n + excluded.n",
            params,
        )
        # Token sums only over calls that carry both counts: a missing count is unknown, not 0.
        both = "i.prompt_tokens IS NOT NULL AND i.completion_tokens IS NOT NULL"
        self.store.db.execute(
            f"INSERT INTO insight_usage ({_KEY_COLUMNS}, backend, {', '.join(USAGE_SUMS)})"
            f" SELECT {_KEY_SQL}, COALESCE(i.backend, ''), COUNT(*), SUM({both}),"
            f" COALESCE(SUM(CASE WHEN {both} THEN i.prompt_tokens END), 0),"
            f" COALESCE(SUM(CASE WHEN {both} THEN i.completion_tokens END), 0)"
            f" FROM interactions i WHERE {condition} GROUP BY 1, 2, 3, 4, 5"
            f" ON CONFLICT ({_KEY_COLUMNS}, backend) DO UPDATE SET {_upsert_adding(USAGE_SUMS)}",
            params,
        )

    def _roll_up_ratings(self, condition: str, params: list[Any]) -> None:
        """Add ratings matching `condition` (over `r` and its interaction `i`) to insight_daily."""
        sums = ("rated", "ratings", "starred", "stars_sum", "stars_1", "stars_2", "stars_3",
                "stars_4", "stars_5", "thumbs_up", "thumbs_down")
        # An interaction counts as rated once: at its oldest rating.
        first = (
            "NOT EXISTS (SELECT 1 FROM ratings o"
            " WHERE o.interaction_id = r.interaction_id AND o.id < r.id)"
        )
        stars = ", ".join(f"SUM(r.stars IS {n})" for n in range(1, 6))
        self.store.db.execute(
            f"INSERT INTO insight_daily ({_KEY_COLUMNS}, {', '.join(sums)})"
            f" SELECT {_KEY_SQL}, SUM({first}), COUNT(*), COUNT(r.stars),"
            f" COALESCE(SUM(r.stars), 0), {stars}, SUM(r.thumbs IS 1), SUM(r.thumbs IS -1)"
            " FROM ratings r JOIN interactions i ON i.id = r.interaction_id"
            f" WHERE {condition} GROUP BY 1, 2, 3, 4"
            f" ON CONFLICT ({_KEY_COLUMNS}) DO UPDATE SET {_upsert_adding(sums)}",
            params,
        )

    def _roll_up_tags(self, condition: str, params: list[Any]) -> None:
        """Add tags matching `condition` (over `t`, `r`, `i`) to insight_tags, once per item."""
        self.store.db.execute(
            f"INSERT INTO insight_tags ({_KEY_COLUMNS}, tag, items)"
            f" SELECT {_KEY_SQL}, t.tag, COUNT(*)"
            " FROM interactions i JOIN ratings r ON r.interaction_id = i.id"
            " JOIN rating_tags t ON t.rating_id = r.id"
            f" WHERE {condition} AND NOT EXISTS (SELECT 1 FROM rating_tags o"
            "   WHERE o.tag = t.tag AND o.interaction_id = t.interaction_id"
            "   AND o.rating_id < t.rating_id)"
            " GROUP BY 1, 2, 3, 4, 5"
            f" ON CONFLICT ({_KEY_COLUMNS}, tag) DO UPDATE SET items = items + excluded.items",
            params,
        )

    # -- reads ----------------------------------------------------------------

    def day_span(self, within: tuple[str, str] = ("", "~")) -> tuple[str, str] | None:
        """First and last UTC day (YYYY-MM-DD) holding rolled-up interactions, or None; only
        real days ``within`` (first, last) count."""
        row = self.store.one(
            "SELECT MIN(day) AS first, MAX(day) AS last FROM insight_daily WHERE interactions > 0"
            " AND day BETWEEN ? AND ? AND date(day, '+0 days') = day",
            list(within),
        )
        if not row or row["first"] is None:
            return None
        return row["first"], row["last"]

    def options(self) -> dict[str, list[str]]:
        """Models, variant names and sources present in the rollup, sorted."""
        return {
            "models": [r["model"] for r in self.store.rows(
                "SELECT DISTINCT model FROM insight_daily WHERE model != '' ORDER BY model")],
            "variants": [r["name"] for r in self.store.rows(
                "SELECT DISTINCT v.name FROM variants v"
                " WHERE v.id IN (SELECT DISTINCT variant_id FROM insight_daily) ORDER BY v.name")],
            "sources": [r["source"] for r in self.store.rows(
                "SELECT DISTINCT source FROM insight_daily ORDER BY source")],
        }

    def sums(
        self, filters: Filters, *, period: str | None = None, by: Iterable[str] = ()
    ) -> list[dict[str, Any]]:
        """Summed rollup counts (DAILY_SUMS) per period ('day'/'week') and dimensions in `by`."""
        groups = self._groups(period, by)
        where, params = _rollup_where(filters)
        select = "".join(f"{sql} AS {name}, " for name, sql in groups)
        sums = ", ".join(f"SUM(d.{c}) AS {c}" for c in DAILY_SUMS)
        numbers = ", ".join(str(n + 1) for n in range(len(groups)))
        group_by = f" GROUP BY {numbers}" if groups else ""
        order = numbers or "1"
        return self.store.rows(
            f"SELECT {select}{sums} FROM insight_daily d{_variant_join(groups)}"
            f" WHERE {where}{group_by} ORDER BY {order}",
            params,
        )

    def timing(
        self, filters: Filters, *, period: str | None = None, by: Iterable[str] = ()
    ) -> list[dict[str, Any]]:
        """Latency and TTFT histograms: rows of (period?, dimensions..., metric, bucket, n)."""
        groups = [*self._groups(period, by), ("metric", "d.metric"), ("bucket", "d.bucket")]
        where, params = _rollup_where(filters)
        select = ", ".join(f"{sql} AS {name}" for name, sql in groups)
        numbers = ", ".join(str(n + 1) for n in range(len(groups)))
        return self.store.rows(
            f"SELECT {select}, SUM(d.n) AS n FROM insight_timing d{_variant_join(groups)}"
            f" WHERE {where} GROUP BY {numbers} ORDER BY {numbers}",
            params,
        )

    def percentiles(
        self,
        filters: Filters,
        quantiles: dict[str, float],
        *,
        period: str | None = None,
        by: Iterable[str] = (),
    ) -> list[dict[str, Any]]:
        """Nearest-rank percentile buckets of latency and TTFT per period and dimensions.

        Rows hold the groups, ``metric``, ``calls`` and, for each name in `quantiles`
        (e.g. {"p95": 0.95}), the bucket holding that percentile.
        """
        for name, q in quantiles.items():
            if not name.isidentifier() or not 0 < q <= 1:
                raise ValueError(f"bad quantile {name!r}: {q!r}")
        groups = [*self._groups(period, by), ("metric", "d.metric")]
        where, params = _rollup_where(filters)
        keys = ", ".join(name for name, _ in groups)
        picks = "".join(
            f", MIN(CASE WHEN seen >= max(1, ceil(? * total)) THEN bucket END) AS {name}"
            for name in quantiles
        )
        return self.store.rows(
            f"WITH h AS (SELECT {', '.join(f'{sql} AS {name}' for name, sql in groups)},"
            f"   d.bucket AS bucket, SUM(d.n) AS n FROM insight_timing d{_variant_join(groups)}"
            f"   WHERE {where} GROUP BY {keys}, bucket),"
            " c AS (SELECT *, SUM(n) OVER w AS seen, SUM(n) OVER (w ROWS BETWEEN UNBOUNDED"
            "   PRECEDING AND UNBOUNDED FOLLOWING) AS total FROM h"
            f"   WINDOW w AS (PARTITION BY {keys} ORDER BY bucket))"
            f" SELECT {keys}, MAX(total) AS calls{picks} FROM c GROUP BY {keys} ORDER BY {keys}",
            [*params, *quantiles.values()],
        )

    def tags(self, filters: Filters, *, by: Iterable[str] = ()) -> list[dict[str, Any]]:
        """How many interactions carry each tag, per dimensions in `by`, most used first."""
        groups = [*self._groups(None, by), ("tag", "d.tag")]
        where, params = _rollup_where(filters)
        select = ", ".join(f"{sql} AS {name}" for name, sql in groups)
        numbers = ", ".join(str(n + 1) for n in range(len(groups)))
        return self.store.rows(
            f"SELECT {select}, SUM(d.items) AS items FROM insight_tags d{_variant_join(groups)}"
            f" WHERE {where} GROUP BY {numbers} HAVING SUM(d.items) > 0"
            f" ORDER BY items DESC, {numbers}",
            params,
        )

    def usage(
        self, filters: Filters, *, period: str | None = None, by: Iterable[str] = ()
    ) -> list[dict[str, Any]]:
        """Calls, calls carrying token counts, token sums and the estimated cost per period
        ('day'/'week') and dimensions in `by` (model, variant, source, backend).

        ``priced`` counts the calls with token counts whose model has a price on their day;
        ``cost`` sums their tokens times that price (None when none is priced).
        """
        groups = self._groups(period, by, _USAGE_DIMENSIONS)
        where, params = _rollup_where(filters)
        select = "".join(f"{sql} AS {name}, " for name, sql in groups)
        numbers = ", ".join(str(n + 1) for n in range(len(groups)))
        group_by = f" GROUP BY {numbers}" if groups else ""
        sums = ", ".join(f"SUM(d.{c}) AS {c}" for c in USAGE_SUMS)
        return self.store.rows(
            f"SELECT {select}{sums}, SUM(CASE WHEN p.id IS NOT NULL THEN d.counted END) AS priced,"
            " SUM(d.prompt_tokens * p.input_per_million"
            "     + d.completion_tokens * p.output_per_million) / 1e6 AS cost"
            f" FROM insight_usage d{_PRICE_JOIN}{_variant_join(groups)}"
            f" WHERE {where}{group_by} ORDER BY {numbers or '1'}",
            params,
        )

    def unpriced_models(self, filters: Filters) -> list[str]:
        """Models with token counts in the filters' range that have no price on some day."""
        where, params = _rollup_where(filters)
        return [r["model"] for r in self.store.rows(
            f"SELECT DISTINCT d.model FROM insight_usage d{_PRICE_JOIN}"
            f" WHERE {where} AND d.counted > 0 AND p.id IS NULL ORDER BY d.model",
            params,
        )]

    # -- prices -----------------------------------------------------------------

    def model_prices(self) -> list[dict[str, Any]]:
        """Every price: model, effective_from (UTC day), per million input and output tokens."""
        return self.store.rows(
            "SELECT id, model, effective_from, input_per_million, output_per_million,"
            " created_by, created_at FROM model_prices ORDER BY model, effective_from"
        )

    def set_model_price(
        self,
        model: str,
        effective_from: str,
        input_per_million: float,
        output_per_million: float,
        created_by: str | None = None,
    ) -> None:
        """Set a model's price from a UTC day on (replacing a price set for that same day)."""
        model = model.strip()
        if not model:
            raise ValueError("name the model the price is for")
        try:
            effective_from = date.fromisoformat(str(effective_from)).isoformat()
        except ValueError:
            raise ValueError("give the day the price applies from as YYYY-MM-DD") from None
        for value in (input_per_million, output_per_million):
            if not math.isfinite(value) or value < 0:
                raise ValueError("a price must be a number of at least 0")
        with self.store.write() as db:
            db.execute(
                "INSERT INTO model_prices (model, effective_from, input_per_million,"
                " output_per_million, created_by, created_at) VALUES (?, ?, ?, ?, ?,"
                " strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))"
                " ON CONFLICT (model, effective_from) DO UPDATE SET"
                " input_per_million = excluded.input_per_million,"
                " output_per_million = excluded.output_per_million,"
                " created_by = excluded.created_by, created_at = excluded.created_at",
                [model, effective_from, float(input_per_million), float(output_per_million),
                 created_by],
            )

    def delete_model_price(self, price_id: int) -> None:
        """Remove one price; the one before it (if any) applies again."""
        with self.store.write() as db:
            db.execute("DELETE FROM model_prices WHERE id = ?", [price_id])

    @staticmethod
    def _groups(
        period: str | None, by: Iterable[str], dimensions: dict[str, str] = _DIMENSIONS
    ) -> list[tuple[str, str]]:
        groups = []
        if period is not None:
            if period not in _PERIODS:
                raise ValueError(f"period must be one of {sorted(_PERIODS)}, not {period!r}")
            groups.append(("period", _PERIODS[period]))
        for name in by:
            if name not in dimensions:
                raise ValueError(f"cannot group by {name!r}: choose from {sorted(dimensions)}")
            groups.append((name, dimensions[name]))
        return groups


def _variant_join(groups: list[tuple[str, str]]) -> str:
    """The join to variants, only when a group needs the variant's name."""
    if any(name == "variant" for name, _ in groups):
        return " LEFT JOIN variants v ON v.id = d.variant_id"
    return ""


def _rollup_where(filters: Filters) -> tuple[str, list[Any]]:
    """SQL condition over the rollup alias `d` for the date, model, variant and source filters."""
    clauses: list[str] = []
    params: list[Any] = []
    if filters.date_from is not None:
        clauses.append("d.day >= ?")
        params.append(filters.date_from.isoformat())
    if filters.date_to is not None:
        clauses.append("d.day <= ?")
        params.append(filters.date_to.isoformat())
    if filters.models:
        clauses.append(f"d.model IN ({_marks(filters.models)})")
        params.extend(filters.models)
    if filters.variants:
        clauses.append(
            f"d.variant_id IN (SELECT id FROM variants WHERE name IN ({_marks(filters.variants)}))"
        )
        params.extend(filters.variants)
    if filters.sources:
        clauses.append(f"d.source IN ({_marks(filters.sources)})")
        params.extend(filters.sources)
    return (" AND ".join(clauses) or "1"), params
