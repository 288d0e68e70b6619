"""Build a large synthetic Loupe database for benchmarks: `python -m bench.synthetic OUT.db [N]`."""

from __future__ import annotations

import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from store import Store

ROOT = Path(__file__).resolve().parent.parent

TOPICS = {
    "billing": ["refund", "invoice", "charge", "subscription", "price", "card", "payment"],
    "shipping": ["parcel", "delivery", "tracking", "courier", "address", "late", "customs"],
    "account": ["password", "login", "email", "profile", "delete", "two-factor", "locked"],
    "product": ["battery", "screen", "update", "warranty", "setup", "bluetooth", "charger"],
    "api": ["token", "rate limit", "endpoint", "timeout", "webhook", "SDK", "pagination"],
}
TEMPLATES = [
    "How do I fix the {a} problem with my {b}?",
    "Why is my {a} not working after the {b}?",
    "Can you explain the {a} and the {b} policy?",
    "What should I do about a {a} {b}?",
    "Is there a way to change the {a} for {b}?",
]
MODELS = ["llama3.2:3b", "qwen2.5:7b", "mistral:7b", "SmolLM2-135M-Instruct"]
REVIEWERS = ["ana", "ben", "chen", "dara", "eli", "fatma"]
TAGS = ["wrong", "incomplete", "hallucination", "unsafe", "off-topic", "too long", "formatting"]
BATCH = 20_000


def build(path: str, n: int = 1_000_000, seed: int = 7, days: int = 90) -> Store:
    """Fill a new database with n interactions (about 2% failed) and n ratings; return the store."""
    rng = random.Random(seed)
    store = Store(path)
    variant_ids = [store.experiments.add_variant(name) for name in ("baseline", "concise", "friendly")]
    start = datetime(2026, 1, 1, tzinfo=UTC)
    topic_names = list(TOPICS)
    interaction_batch: list[dict] = []
    rating_batch: list[dict] = []
    next_id = store.ingest.max_interaction_id() + 1
    began = time.perf_counter()
    for i in range(n):
        topic = TOPICS[topic_names[i % len(topic_names)]]
        question = rng.choice(TEMPLATES).format(a=rng.choice(topic), b=rng.choice(topic))
        when = start + timedelta(seconds=rng.randrange(days * 86400))
        stamp = when.strftime("%Y-%m-%dT%H:%M:%S.000Z")
        failed = rng.random() < 0.02
        interaction_batch.append({
            "id": next_id + i,
            "turn": 1,
            "question": question,
            "answer": None if failed else f"Answer about {question.lower()} number {i}.",
            "model": rng.choice(MODELS),
            "backend": "ollama",
            "variant_id": rng.choice(variant_ids),
            "latency_ms": round(rng.lognormvariate(6.5, 0.6), 1),
            "ttft_ms": round(rng.lognormvariate(5.0, 0.5), 1),
            "prompt_tokens": rng.randrange(20, 400),
            "completion_tokens": None if failed else rng.randrange(10, 600),
            "error": "Cannot reach the Ollama server." if failed else None,
            "source": rng.choice(["chat", "import", "import", "import"]),
            "created_at": stamp,
        })
        if not failed:
            rating_batch.append({
                "interaction_id": next_id + i,
                "reviewer": rng.choice(REVIEWERS),
                "stars": rng.choices([1, 2, 3, 4, 5], [8, 10, 20, 32, 30])[0],
                "thumbs": rng.choice([1, 1, 1, -1, None]),
                "tags": rng.sample(TAGS, rng.choice([0, 0, 0, 1, 2])),
                "ideal_answer": "A better answer." if rng.random() < 0.05 else None,
                "created_at": stamp,
            })
        if len(interaction_batch) >= BATCH:
            store.ingest.insert_interactions_bulk(interaction_batch)
            store.ingest.insert_ratings_bulk(rating_batch)
            interaction_batch, rating_batch = [], []
            print(f"\r  {i + 1:,} / {n:,} rows", end="", file=sys.stderr, flush=True)
    store.ingest.insert_interactions_bulk(interaction_batch)
    store.ingest.insert_ratings_bulk(rating_batch)
    # top up ratings to n: a second reviewer on some items, as teams do for agreement
    missing = n - store.summary()["ratings"]
    extra = []
    for k in range(max(0, missing)):
        iid = next_id + rng.randrange(n)
        extra.append({"interaction_id": iid, "reviewer": f"second-{k % 3}",
                      "stars": rng.randint(1, 5), "thumbs": rng.choice([1, -1]),
                      "created_at": "2026-03-01T00:00:00.000Z"})
    seen: set[tuple[int, str]] = set()
    extra = [r for r in extra if (r["interaction_id"], r["reviewer"]) not in seen
             and not seen.add((r["interaction_id"], r["reviewer"]))]
    for offset in range(0, len(extra), BATCH):
        store.ingest.insert_ratings_bulk(extra[offset:offset + BATCH])
    print(f"\r  built {n:,} interactions in {time.perf_counter() - began:.0f} s", file=sys.stderr)
    return store


if __name__ == "__main__":
    out = sys.argv[1] if len(sys.argv) > 1 else "bench/out/synthetic.db"
    size = int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    if Path(out).exists():
        sys.exit(f"{out} exists: remove it first or choose another path.")
    print(build(out, size).summary())
