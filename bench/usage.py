"""Benchmark of usage and cost on Insights: `python -m bench.usage [DB] [--runs 7]`.

Builds (or reuses) the 1,000,000-interaction database of bench.insights, brings the rollups up
to date, sets dated prices for every model, then prints: the time of the one-off backfill that
migration m015 runs on an existing rollup (the same GROUP BY over every interaction), and the
median and max of each usage aggregate behind the page for three views, against the 300 ms
target, and a whole page run. Nothing here asserts: it prints figures.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from bench.insights import (
    PAGE_TARGET_S,
    QUERY_TARGET_MS,
    open_or_build,
    parser_for,
    time_page,
    time_queries,
    views_of,
)
from bench.synthetic import MODELS
from dashboard.insights import (
    data_span,
    refresh_insights,
    usage_breakdown,
    usage_over_time,
    usage_summary,
)

ROOT = Path(__file__).resolve().parent.parent

QUERIES = {
    "usage_summary": lambda s, f: usage_summary(s, f),
    "over_time/model": lambda s, f: usage_over_time(s, f, by="model"),
    "over_time/variant": lambda s, f: usage_over_time(s, f, by="variant"),
    "over_time/backend": lambda s, f: usage_over_time(s, f, by="backend"),
    "breakdown/model": lambda s, f: usage_breakdown(s, f, by="model"),
    "breakdown/backend": lambda s, f: usage_breakdown(s, f, by="backend"),
}
BACKFILL = (
    "SELECT substr(i.created_at, 1, 10), COALESCE(i.model, ''), COALESCE(i.variant_id, 0),"
    " i.source, COALESCE(i.backend, ''), COUNT(*),"
    " SUM(i.prompt_tokens IS NOT NULL AND i.completion_tokens IS NOT NULL),"
    " SUM(i.prompt_tokens), SUM(i.completion_tokens)"
    " FROM interactions i GROUP BY 1, 2, 3, 4, 5"
)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its figures."""
    args = parser_for("python -m bench.usage", __doc__).parse_args(argv)

    db = Path(args.db)
    store = open_or_build(db, args.size)
    report = refresh_insights(store)
    print(f"refresh before timing: {report.seconds:.1f} s")
    rows = store.db.execute("SELECT COUNT(*) FROM insight_usage").fetchone()[0]
    print(f"insight_usage holds {rows:,} rows for {store.ingest.max_interaction_id():,} interactions")

    began = time.perf_counter()
    groups = len(store.db.execute(BACKFILL).fetchall())
    print(f"m015 backfill (GROUP BY over every interaction): "
          f"{time.perf_counter() - began:.1f} s, {groups:,} groups")

    first, last = data_span(store)
    for n, model in enumerate(MODELS):
        store.insights.set_model_price(model, first.isoformat(), 0.1 * (n + 1), 0.4 * (n + 1))
        store.insights.set_model_price(model, (first + (last - first) / 2).isoformat(),
                              0.05 * (n + 1), 0.2 * (n + 1))

    views = views_of(store)
    worst = time_queries(store, views, args.runs, QUERIES)
    print(f"slowest median: {worst:.1f} ms = {worst / QUERY_TARGET_MS:.2f} of the 300 ms target")
    summary = usage_summary(store, views["all days"])
    print(f"all days: {summary.calls:,} calls, {summary.uncounted:,} without counts,"
          f" {summary.prompt_tokens:,} in / {summary.completion_tokens:,} out,"
          f" estimated ${summary.cost:,.2f}")
    store.close()
    cold, warm = time_page(db, 3)
    print(f"\nwhole Insights page with the usage section (AppTest, last 30 days): {cold:.2f} s"
          f" with an empty read cache ({cold / PAGE_TARGET_S:.2f} of 1.5 s), {warm:.2f} s cached")
    return 0


if __name__ == "__main__":
    sys.exit(main())
