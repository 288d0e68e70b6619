"""Time the Review, Annotate, Agreement and Insights queries on a large database.

    python -m bench.review [DB] [--size N] [--runs R]

Builds DB (default bench/out/review-1m.db) with bench.synthetic when it does not exist, else
reuses it. Prints, per query, the median and max milliseconds over R runs and the ratio of the
median to the 300 ms target; then times whole runs of the Review page in AppTest and reports
the process's memory (Annotate and Agreement runs are timed too). Prints figures only:
nothing here fails on time.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

from bench.synthetic import build
from dashboard.filters import Filters
from dashboard.review import next_in_queue
from dashboard.stats import (
    alpha_summary,
    disagreements,
    pairwise_agreement,
    ratings_frame,
)
from store import Store

ROOT = Path(__file__).resolve().parent.parent

TARGET_MS = 300.0
PAGE_TARGET_MS = 1500.0
DEFAULT_DB = ROOT / "bench" / "out" / "review-1m.db"

FILTERS = {
    "no filter": Filters(),
    "stars <= 2": Filters(stars_max=2),
    "tag hallucination": Filters(tags=("hallucination",)),
    "model + date range": Filters(models=("qwen2.5:7b",), date_from=date(2026, 2, 1),
                                  date_to=date(2026, 2, 14)),
    "search 'refund'": Filters(search="refund"),
    "search 'answer' (every row)": Filters(search="answer"),
    "thumbs down + source import": Filters(thumbs="down", sources=("import",)),
    "reviewer ana, stars <= 2": Filters(reviewers=("ana",), stars_max=2),
    "unrated": Filters(unrated=True),
}


def timed(fn: Callable[[], object], runs: int) -> tuple[list[float], object]:
    """Milliseconds of each of ``runs`` calls, and the last result."""
    times, result = [], None
    for _ in range(runs):
        start = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - start) * 1000)
    return times, result


def report(label: str, times: list[float], note: str = "", target: float = TARGET_MS) -> None:
    median = statistics.median(times)
    print(f"  {label:<46} {median:8.1f} {max(times):8.1f} {median / target:6.2f}  {note}")


def rss_mb() -> float:
    """Resident memory of this process now, in MB."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def query_times(store: Store, runs: int) -> None:
    print(f"\n  {'query':<46} {'median':>8} {'max':>8} {'ratio':>6}  "
          f"(ms; ratio = median / {TARGET_MS:.0f} ms)")
    for name, filters in FILTERS.items():
        times, (count, exact) = timed(lambda f=filters: store.review.count_interactions(f), runs)
        report(f"count, {name}", times, f"{count:,}{'' if exact else '+'} matches")
        times, rows = timed(
            lambda f=filters, c=count, e=exact: store.review.review_rows(f, matches=c if e else c + 1),
            runs,
        )
        report(f"first page, {name}", times, f"{len(rows)} rows")
    deep = FILTERS["stars <= 2"]
    count, _ = store.review.count_interactions(deep)
    times, _ = timed(lambda: store.review.review_rows(deep, offset=9_950, matches=count), runs)
    report("page 200, stars <= 2", times)

    for reviewer in ("newcomer", "ana"):
        times, (item, _) = timed(lambda r=reviewer: next_in_queue(store, r, Filters()), runs)
        report(f"queue next item ({reviewer})", times, f"#{item['id'] if item else '-'}")
    narrow = Filters(thumbs="down", models=("mistral:7b",))
    times, _ = timed(lambda: next_in_queue(store, "ana", narrow), runs)
    report("queue next item (ana, thumbs down + model)", times)
    times, (done, left) = timed(lambda: store.review.queue_progress("ana", Filters()), runs)
    report("queue progress (ana)", times, f"{done:,} done, {left:,} left")
    for name, filters in (("thumbs down", Filters(thumbs="down")),
                          ("model", Filters(models=("mistral:7b",))),
                          ("search 'refund'", Filters(search="refund"))):
        times, _ = timed(lambda f=filters: store.review.queue_progress("ana", f), runs)
        report(f"queue progress (ana, {name})", times)

    times, ratings = timed(store.review.overlapping_ratings, runs)
    report("agreement data (overlapping ratings)", times, f"{len(ratings):,} ratings")
    frame = ratings_frame(ratings)
    times, _ = timed(
        lambda: (pairwise_agreement(frame), alpha_summary(frame), disagreements(frame)), runs
    )
    report("agreement statistics (kappas, alphas, worst)", times,
           f"{frame['reviewer'].nunique()} reviewers")
    times, _ = timed(store.review.filter_options, runs)
    report("filter options (distinct values)", times)
    times, _ = timed(lambda: store.review.interaction_detail(12_345), runs)
    report("one interaction with its ratings", times)


def insight_times(store: Store, runs: int) -> None:
    """The aggregates behind the Insights page (its rollups are brought up to date first)."""
    from dashboard.insights import INSIGHT_QUERIES, refresh_insights

    start = time.perf_counter()
    refresh_insights(store)
    print(f"\n  Insights rollups brought up to date in {time.perf_counter() - start:.1f} s")
    for name, query in INSIGHT_QUERIES.items():
        times, _ = timed(lambda q=query: q(store, Filters()), runs)
        report(f"insights: {name}", times)


def page_times(db: Path, runs: int) -> None:
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    os.environ["LOUPE_DB"] = str(db)
    st.cache_data.clear()
    st.cache_resource.clear()
    print(f"\n  {'whole page run (AppTest, cache cleared)':<46} "
          f"{'median':>8} {'max':>8} {'ratio':>6}  "
          f"(ratio = median / {PAGE_TARGET_MS:.0f} ms)")
    views = {
        "Review, no filter": ("review.py", {}, ""),
        "Review, stars <= 2, open item": ("review.py", {"stars_max": "2", "item": "12345"}, "ana"),
        "Review, search + model, page 3": (
            "review.py", {"search": "refund", "models": "qwen2.5:7b", "page": "3"}, ""
        ),
        "Annotate, ana": ("queue.py", {}, "ana"),
        "Annotate, ana, thumbs down": ("queue.py", {"thumbs": "down"}, "ana"),
        "Agreement": ("agreement.py", {}, ""),
        "Insights": ("insights.py", {}, ""),
    }
    for name, (page, params, reviewer) in views.items():
        times = []
        for run in range(runs + 1):
            st.cache_data.clear()  # every run reads the database, as after a new rating
            at = AppTest.from_file(str(ROOT / "views" / page), default_timeout=120)
            at.query_params.update(params)
            if reviewer:
                at.session_state["app.reviewer"] = reviewer
            start = time.perf_counter()
            at.run()
            elapsed = (time.perf_counter() - start) * 1000
            if at.exception:
                print(f"  {name}: the page failed: {at.exception[0].message}")
                break
            if run:  # the first run also imports modules and opens the store
                times.append(elapsed)
        if times:
            report(name, times, target=PAGE_TARGET_MS)
    print(f"\n  process memory: {rss_mb():.0f} MB resident now")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("db", nargs="?", default=str(DEFAULT_DB))
    parser.add_argument("--size", type=int, default=1_000_000, help="interactions when building")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    db = Path(args.db)
    if not db.exists():
        db.parent.mkdir(parents=True, exist_ok=True)
        print(f"building {db} with {args.size:,} interactions (once; reused afterwards)")
        start = time.perf_counter()
        build(str(db), args.size).close()
        print(f"  built in {time.perf_counter() - start:.0f} s")
    store = Store(db)
    summary = store.summary()
    print(f"{db}: {summary['interactions']:,} interactions, {summary['ratings']:,} ratings, "
          f"{db.stat().st_size / 2**20:,.0f} MB; {os.cpu_count()} CPUs")
    query_times(store, args.runs)
    insight_times(store, args.runs)
    store.close()
    page_times(db, args.runs)


if __name__ == "__main__":
    main()
