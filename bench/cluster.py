"""Failure themes of 100,000 low-rated questions: time per stage, peak memory, and quality.

    python -m bench.cluster [DB] [N]

Builds (or reuses) a database holding N low-rated interactions (and N/5 well-rated ones the
filter must skip) whose questions are the labelled set's questions varied with greetings,
context, typos and dropped words, so that hardly two are alike. The clustering (embeddings
included, with the default vectorizer) runs in a child process so that its peak memory
(ru_maxrss) is its own; its wall time and its CPU time are both printed, as other work on the
machine stretches the first. Then, for each vectorizer, the themes of the whole Banking77 test
set (3,080 questions, 77 intents) and of the labelled set are scored against their true topics
(adjusted Rand index and NMI, k fixed at the true number and k automatic).
"""

from __future__ import annotations

import csv
import json
import os
import random
import resource
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

LABELLED = ROOT / "tests" / "data" / "clusters_labelled.csv"
BANKING77 = ROOT / "tests" / "data" / "banking77_test.csv"
TARGET_SECONDS = 30
TARGET_MB = 2048
BATCH = 20_000

PREFIXES = ["", "", "", "", "", "Hi, ", "Hello! ", "Hey, ", "Hi there. ", "Hello, ", "Dear team, "]
SUFFIXES = ["", "", "", "", "", " Thanks.", " Thank you!", " Thanks a lot.", " ??", " Cheers",
            " Please."]
CONTEXT = ["since Monday", "for {n} days", "on my trip to {place}", "after the last update",
           "since {place}", "on the {device}", "from my {device}", "this morning", "last week",
           "yesterday evening", "in {place}", "ref {n}"]
PLACES = ["Spain", "Lisbon", "Berlin", "Tokyo", "Seoul", "New York", "Paris", "Rome", "Dublin",
          "Warsaw", "Oslo", "Prague", "Madrid", "Vienna", "Milan", "Athens"]
DEVICES = ["iPhone", "Android phone", "laptop", "tablet", "work computer", "Pixel", "iPad"]
KOREAN_SUFFIXES = ["", "", " 빨리 답변 부탁드립니다.", " 감사합니다.", " 급해요!", " 도와주세요."]


def labelled() -> list[tuple[str, str]]:
    """The labelled set: (text, topic)."""
    with LABELLED.open(encoding="utf-8", newline="") as handle:
        return [(row["text"], row["topic"]) for row in csv.DictReader(handle)]


def vary(text: str, rng: random.Random) -> str:
    """A new question in the spirit of ``text``: greeting, context, a typo, a dropped word."""
    korean = any("\uac00" <= ch <= "\ud7a3" for ch in text)
    words = text.split()
    if len(words) > 4 and rng.random() < 0.25:
        del words[rng.randrange(len(words))]
    if rng.random() < 0.3:
        i = rng.randrange(len(words))
        word = words[i]
        if len(word) > 3:
            j = rng.randrange(len(word) - 1)
            words[i] = word[:j] + word[j + 1] + word[j] + word[j + 2:]
    out = " ".join(words)
    if korean:
        return out + rng.choice(KOREAN_SUFFIXES)
    if rng.random() < 0.4:
        context = rng.choice(CONTEXT).format(
            n=rng.randrange(2, 99999), place=rng.choice(PLACES), device=rng.choice(DEVICES))
        out = out.rstrip("?.!") + " " + context + "?"
    out = rng.choice(PREFIXES) + out + rng.choice(SUFFIXES)
    return out.lower() if rng.random() < 0.2 else out


def build(path: str, n: int, seed: int = 7) -> None:
    """A database with n low-rated and n/5 well-rated interactions over 120 days."""
    from store import Store

    rng = random.Random(seed)
    source = labelled()
    store = Store(path)
    variants = [store.experiments.add_variant(name) for name in ("baseline", "concise", "friendly")]
    models = ["llama3.2:3b", "qwen2.5:7b", "mistral:7b"]
    start = datetime(2026, 1, 1, tzinfo=UTC)
    total = n + n // 5
    began = time.perf_counter()
    for offset in range(0, total, BATCH):
        interactions, ratings = [], []
        for i in range(offset, min(total, offset + BATCH)):
            iid = i + 1
            text, _ = source[rng.randrange(len(source))]
            stamp = (start + timedelta(seconds=rng.randrange(120 * 86400))).strftime("%Y-%m-%dT%H:%M:%S.000Z")
            interactions.append({
                "id": iid, "turn": 1, "question": vary(text, rng), "answer": f"Answer {iid}.",
                "model": rng.choice(models), "variant_id": rng.choice(variants),
                "source": "import", "created_at": stamp,
            })
            low = i < n
            ratings.append({
                "interaction_id": iid, "reviewer": rng.choice(["ana", "ben", "chen"]),
                "stars": rng.choice([1, 2, None]) if low else rng.choice([4, 5]),
                "thumbs": -1 if low and rng.random() < 0.6 else (1 if not low else None),
                "created_at": stamp,
            })
            if low and ratings[-1]["stars"] is None and ratings[-1]["thumbs"] is None:
                ratings[-1]["stars"] = 1
        store.ingest.insert_interactions_bulk(interactions)
        store.ingest.insert_ratings_bulk(ratings)
        print(f"\r  built {min(total, offset + BATCH):,} / {total:,}", end="", file=sys.stderr, flush=True)
    print(f"\r  built {total:,} interactions in {time.perf_counter() - began:.0f} s", file=sys.stderr)
    store.close()


def _child(db: str) -> None:
    from dashboard.clustering import ThemeOptions, find_themes
    from dashboard.filters import Filters
    from store import Store

    before_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    store = Store(db)
    began = time.perf_counter()
    cpu = time.process_time()
    rows = store.themes.cluster_items(Filters())
    fetch = time.perf_counter() - began
    report = find_themes(rows, ThemeOptions(seed=0), total=len(rows))
    seconds = time.perf_counter() - began
    print(json.dumps({
        "items": report.n_items, "themes": len([c for c in report.clusters if c["id"] >= 0]),
        "k": report.k, "other": sum(c["size"] for c in report.clusters if c["id"] < 0),
        "seconds": seconds, "cpu_seconds": time.process_time() - cpu,
        "timings": {"fetch": fetch, **report.timings},
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "imports_mb": before_mb,
        "labels": [c["label"] for c in report.clusters[:12]],
    }))


def _rows(path: Path, topic: str) -> tuple[list[str], list[str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return [row["text"] for row in rows], [row[topic] for row in rows]


def quality() -> list[dict[str, object]]:
    """ARI and NMI against the true topics, per data set, vectorizer and choice of k."""
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    from dashboard.clustering import VECTORIZERS, cluster_texts

    out = []
    for name, (texts, topics) in (("Banking77 test", _rows(BANKING77, "category")),
                                  ("labelled set", _rows(LABELLED, "topic"))):
        true_k = len(set(topics))
        for vectorizer in VECTORIZERS:
            for k in (true_k, None):
                began = time.perf_counter()
                run = cluster_texts(texts, k=k, seed=0, vectorizer=vectorizer)
                out.append({
                    "data": name, "vectorizer": vectorizer, "k": "automatic" if k is None else f"{k} (true)",
                    "chosen": run.k, "ari": adjusted_rand_score(topics, run.labels),
                    "nmi": normalized_mutual_info_score(topics, run.labels),
                    "seconds": time.perf_counter() - began,
                })
    return out


def main() -> None:
    """Build or reuse the database, measure in a child process, print figures and ratios."""
    db = sys.argv[1] if len(sys.argv) > 1 else "bench/out/clusters_100k.db"
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 100_000
    if not Path(db).exists():
        Path(db).parent.mkdir(parents=True, exist_ok=True)
        build(db, n)
    done = subprocess.run(
        [sys.executable, "-m", "bench.cluster", "--child", db],
        cwd=ROOT, capture_output=True, text=True, check=True,
    )
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    print(f"Clustered {figures['items']:,} low-rated questions into {figures['themes']} themes "
          f"(k = {figures['k']}; {figures['other']:,} items in 'other')")
    for stage, seconds in figures["timings"].items():
        print(f"  {stage:<10} {seconds:7.2f} s")
    print(f"  {'total':<10} {figures['seconds']:7.2f} s   target {TARGET_SECONDS} s   "
          f"ratio {figures['seconds'] / TARGET_SECONDS:.2f}   (CPU time {figures['cpu_seconds']:.2f} s; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
    print(f"  peak memory {figures['peak_mb']:,.0f} MB (after imports {figures['imports_mb']:,.0f} MB)"
          f"   target {TARGET_MB:,} MB   ratio {figures['peak_mb'] / TARGET_MB:.2f}")
    print("  largest themes: " + " | ".join(figures["labels"]))
    print("Quality against the true topics (seed 0):")
    for row in quality():
        print(f"  {row['data']:<15} {row['vectorizer']:<16} k {row['k']:<10} chosen {row['chosen']:>3}   "
              f"ARI {row['ari']:.3f}   NMI {row['nmi']:.3f}   {row['seconds']:.1f} s")


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        _child(sys.argv[2])
    else:
        main()
