"""Benchmark of usage and cost on Insights: `python -m bench.usage [DB] [--runs 7]`.

Builds (or reuses) the 1,000,000-interaction database of bench.insights, brings the rollups up
to date, sets dated prices for every model, then prints: the time of the one-off backfill that
migration m015 runs on an existing rollup (the same GROUP BY over every interaction), and the
median and max of each usage aggregate behind the page for three views, against the 300 ms
target, and a whole page run. Nothing here asserts: it prints figures.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.insights import DEFAULT_DB, PAGE_TARGET_S, QUERY_TARGET_MS, time_page, timed  # noqa: E402
from bench.synthetic import MODELS, build  # noqa: E402
from dashboard.filters import Filters  # noqa: E402
from dashboard.insights import (  # noqa: E402
    data_span,
    refresh_insights,
    usage_breakdown,
    usage_over_time,
    usage_summary,
    view_filters,
)
from store import Store  # noqa: E402

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
    parser = argparse.ArgumentParser(prog="python -m bench.usage", description=__doc__)
    parser.add_argument("db", nargs="?", default=str(DEFAULT_DB),
                        help="database (built if missing)")
    parser.add_argument("--size", type=int, default=1_000_000, help="rows when building")
    parser.add_argument("--runs", type=int, default=7, help="runs per timed query")
    args = parser.parse_args(argv)

    db = Path(args.db)
    if not db.exists():
        db.parent.mkdir(parents=True, exist_ok=True)
        print(f"building {db} with {args.size:,} interactions (takes a few minutes)...")
        began = time.perf_counter()
        build(str(db), args.size).close()
        print(f"built in {time.perf_counter() - began:.0f} s")
    store = Store(db)
    print(f"{db}: {store.summary()}")
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

    views = {
        "last 30 days": view_filters(Filters(), last),
        "all days": view_filters(Filters(date_from=first), last),
        "model+source": view_filters(Filters(models=(MODELS[1],), sources=("chat",)), last),
    }
    worst = 0.0
    print(f"\n{'aggregate':<20} {'view':<14} {'median ms':>10} {'max ms':>9} {'/ 300 ms':>9}")
    for view_name, filters in views.items():
        for name, query in QUERIES.items():
            times = timed(partial(query, store, filters), args.runs)
            median = statistics.median(times)
            worst = max(worst, median)
            print(f"{name:<20} {view_name:<14} {median:>10.1f} {max(times):>9.1f}"
                  f" {median / QUERY_TARGET_MS:>9.2f}")
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
