"""Benchmark of the Insights page: `python -m bench.insights [DB] [--runs 7] [--keep]`.

Builds (or reuses) a database of 1,000,000 interactions and ratings in bench/out, then prints:
the time of a full refresh of the rollups and of an incremental one after adding 10,000 rows
(and changing some old ones), each aggregate behind the page (median and max over several
runs, and the ratio to the 300 ms target), a whole page run in AppTest (target 1.5 s), and the
process's memory (target 500 MB). Nothing here asserts: it prints figures.
"""

from __future__ import annotations

import argparse
import functools
import os
import random
import resource
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.synthetic import MODELS, REVIEWERS, TAGS, TEMPLATES, TOPICS, build
from dashboard.filters import Filters
from dashboard.insights import (
    INSIGHT_QUERIES,
    data_span,
    refresh_insights,
    view_filters,
)
from store import Store

ROOT = Path(__file__).resolve().parent.parent

DEFAULT_DB = ROOT / "bench" / "out" / "insights_1m.db"
QUERY_TARGET_MS = 300
PAGE_TARGET_S = 1.5
RSS_TARGET_MB = 500
RE_RATED = 200
FAILED_LATER = 20


def rss_mb() -> tuple[float, float]:
    """Current and peak resident memory of this process, in MB."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    try:
        import psutil  # optional

        return psutil.Process().memory_info().rss / 2**20, peak
    except ImportError:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024, peak
    return float("nan"), peak


def timed(fn: Callable[[], Any], runs: int) -> list[float]:
    """Wall times of `runs` calls, in ms."""
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        fn()
        times.append((time.perf_counter() - began) * 1000)
    return times


def add_rows(store: Store, n: int, seed: int = 11) -> float:
    """Add n interactions (half of them follow-up turns, some re-asked) with their ratings, as
    an import would; return the seconds it took."""
    rng = random.Random(seed)
    topics = list(TOPICS.values())
    first_id = store.ingest.max_interaction_id() + 1
    began = time.perf_counter()
    conversations = [store.ingest.start_conversation(source="import") for _ in range(n // 4)]
    rows, ratings = [], []
    for k in range(n):
        topic = rng.choice(topics)
        question = rng.choice(TEMPLATES).format(a=rng.choice(topic), b=rng.choice(topic))
        conversation, turn = (None, 1)
        if k < n // 2:  # two-turn conversations, a quarter of them re-asking
            conversation, turn = conversations[k // 2], 1 + k % 2
            if turn == 2 and rng.random() < 0.25:
                question = rows[-1]["question"].lower().rstrip("?") + "??"
        stamp = f"2026-03-{rng.randint(1, 31):02d}T{rng.randint(0, 23):02d}:00:00.000Z"
        failed = rng.random() < 0.02
        rows.append({
            "id": first_id + k, "conversation_id": conversation, "turn": turn,
            "question": question, "answer": None if failed else "An answer.",
            "model": rng.choice(MODELS), "backend": "ollama",
            "latency_ms": round(rng.lognormvariate(6.5, 0.6), 1),
            "ttft_ms": round(rng.lognormvariate(5.0, 0.5), 1),
            "error": "Cannot reach the Ollama server." if failed else None,
            "source": "import", "created_at": stamp,
        })
        if not failed:
            ratings.append({
                "interaction_id": first_id + k, "reviewer": rng.choice(REVIEWERS),
                "stars": rng.randint(1, 5), "thumbs": rng.choice([1, -1, None]),
                "tags": rng.sample(TAGS, rng.choice([0, 0, 1])), "created_at": stamp,
            })
    store.ingest.insert_interactions_bulk(rows)
    store.ingest.insert_ratings_bulk(ratings)
    return time.perf_counter() - began


def change_old_rows(store: Store, re_rated: int, failed: int, seed: int = 12) -> float:
    """Re-rate and re-tag old ratings (kept exact in place by triggers) and turn old answers
    into failures (their day and model get recounted); return the seconds it took."""
    rng = random.Random(seed)
    old_ids = [rng.randrange(1, store.ingest.max_interaction_id()) for _ in range(re_rated + failed)]
    began = time.perf_counter()
    for iid in old_ids[:re_rated]:
        for rating in store.review.ratings_for(iid)[:1]:
            store.review.save_rating(iid, rating["reviewer"], stars=rng.randint(1, 5),
                              thumbs=rng.choice([1, -1]), tags=rng.sample(TAGS, 1))
    for iid in old_ids[re_rated:]:
        store.ingest.record_answer(iid, error="Failed when re-run.")
    return time.perf_counter() - began


def time_queries(store: Store, views: dict[str, Filters], runs: int,
                 queries: dict[str, Callable[[Store, Filters], Any]] = INSIGHT_QUERIES) -> float:
    """Print median and max ms of every aggregate for each view; return the worst median."""
    worst = 0.0
    print(f"\n{'aggregate':<20} {'view':<16} {'median ms':>10} {'max ms':>9} {'/ 300 ms':>9}")
    for view_name, filters in views.items():
        for name, query in queries.items():
            times = timed(functools.partial(query, store, filters), runs)
            median = statistics.median(times)
            worst = max(worst, median)
            print(f"{name:<20} {view_name:<16} {median:>10.1f} {max(times):>9.1f}"
                  f" {median / QUERY_TARGET_MS:>9.2f}")
    return worst


def parser_for(prog: str, description: str | None) -> argparse.ArgumentParser:
    """The arguments every Insights benchmark takes: the database, its size, runs per query."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("db", nargs="?", default=str(DEFAULT_DB),
                        help="database (built if missing)")
    parser.add_argument("--size", type=int, default=1_000_000, help="rows when building")
    parser.add_argument("--runs", type=int, default=7, help="runs per timed query")
    return parser


def open_or_build(db: Path, size: int) -> Store:
    """The benchmark database, built first with `size` interactions when it is missing."""
    if not db.exists():
        db.parent.mkdir(parents=True, exist_ok=True)
        print(f"building {db} with {size:,} interactions (takes a few minutes)...")
        began = time.perf_counter()
        build(str(db), size).close()
        print(f"built in {time.perf_counter() - began:.0f} s (bulk import with every trigger on)")
    store = Store(db)
    print(f"{db}: {store.summary()}")
    return store


def views_of(store: Store) -> dict[str, Filters]:
    """The three views the benchmarks time: the default 30 days, every day, one model and source."""
    first, last = data_span(store)
    return {
        "last 30 days": view_filters(Filters(), last),
        "all days": view_filters(Filters(date_from=first), last),
        "model+source": view_filters(Filters(models=(MODELS[1],), sources=("chat",)), last),
    }


def time_page(db: Path, runs: int) -> tuple[float, float]:
    """Median seconds of a whole page run without and with its read cache (AppTest)."""
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    os.environ["LOUPE_DB"] = str(db)
    page = str(ROOT / "views" / "insights.py")
    at = AppTest.from_file(page, default_timeout=300)
    at.run()  # first run: imports, opens the store
    if at.exception:
        raise SystemExit(f"the page failed: {at.exception}")
    cold, warm = [], []
    for _ in range(runs):
        st.cache_data.clear()
        began = time.perf_counter()
        at.run()
        cold.append(time.perf_counter() - began)
        began = time.perf_counter()
        at.run()
        warm.append(time.perf_counter() - began)
    return statistics.median(cold), statistics.median(warm)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its figures."""
    parser = parser_for("python -m bench.insights", __doc__)
    parser.add_argument("--add", type=int, default=10_000,
                        help="rows added before the incremental refresh")
    parser.add_argument("--keep", action="store_true",
                        help="keep the existing rollups instead of timing a full refresh")
    args = parser.parse_args(argv)

    db = Path(args.db)
    store = open_or_build(db, args.size)

    if not args.keep:
        store.insights.reset()
    report = refresh_insights(store)
    print(f"\nfull refresh: {report.seconds:.1f} s ({report.turns:,} turns checked for re-asks,"
          f" {report.interactions:,} interactions, {report.ratings:,} ratings)")
    took = add_rows(store, args.add)
    print(f"added {args.add:,} interactions and their ratings in {took:.2f} s")
    report = refresh_insights(store)
    print(f"incremental refresh: {report.seconds * 1000:.0f} ms ({report.turns:,} turns checked,"
          f" {report.reasks:,} re-asks found, {report.interactions:,} interactions,"
          f" {report.ratings:,} ratings)")
    took = change_old_rows(store, RE_RATED, FAILED_LATER)
    print(f"re-rated {RE_RATED} old answers and failed {FAILED_LATER} old ones in {took:.2f} s")
    report = refresh_insights(store)
    print(f"refresh after those changes: {report.seconds * 1000:.0f} ms"
          f" ({report.recounts} (day, model) pairs recounted; re-ratings need none)")
    report = refresh_insights(store)
    print(f"refresh with nothing new: {report.seconds * 1000:.1f} ms")

    worst = time_queries(store, views_of(store), args.runs)
    print(f"slowest median: {worst:.1f} ms = {worst / QUERY_TARGET_MS:.2f} of the 300 ms target")
    store.close()

    cold, warm = time_page(db, max(3, args.runs // 2))
    print(f"\nwhole Insights page (AppTest, last 30 days): {cold:.2f} s with an empty read cache"
          f" ({cold / PAGE_TARGET_S:.2f} of 1.5 s), {warm:.2f} s when cached")
    current, peak = rss_mb()
    print(f"process memory: {current:.0f} MB now, {peak:.0f} MB peak"
          f" ({peak / RSS_TARGET_MB:.2f} of 500 MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
