"""Fill a test store for the Insights tests, through the Store's public methods only."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta, timezone
from typing import Any

from store import Store

MODELS = ("llama3.2:3b", "qwen2.5:7b", "mistral:7b")
TAGS = ("wrong", "incomplete", "hallucination", "too long", "formatting")
QUESTIONS = (
    "How do I reset my password?",
    "Why was my card charged twice this month?",
    "Where is my parcel and when will it arrive?",
    "Can I change the delivery address of an order?",
    "How do I cancel my subscription before renewal?",
    "What does the warranty cover for the charger?",
)


def stamp(day: date | str, hour: int = 12, minute: int = 0) -> str:
    """The created_at text of a moment on a UTC day."""
    day = date.fromisoformat(day) if isinstance(day, str) else day
    moment = datetime(day.year, day.month, day.day, hour, minute, tzinfo=timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def add_interaction(
    store: Store,
    question: str = "How do I reset my password?",
    *,
    day: date | str = "2026-03-10",
    hour: int = 12,
    model: str | None = "m1",
    answer: str | None = "An answer.",
    error: str | None = None,
    latency_ms: float | None = 500.0,
    ttft_ms: float | None = 100.0,
    source: str = "chat",
    variant_id: int | None = None,
    conversation_id: int | None = None,
    turn: int = 1,
) -> int:
    """Insert one interaction as it would have been saved on `day`; return its id."""
    iid = store.ingest.max_interaction_id() + 1
    store.ingest.insert_interactions_bulk([{
        "id": iid, "conversation_id": conversation_id, "turn": turn, "question": question,
        "answer": None if error else answer, "model": model, "backend": "ollama",
        "variant_id": variant_id, "latency_ms": latency_ms, "ttft_ms": ttft_ms,
        "error": error, "source": source, "created_at": stamp(day, hour),
    }])
    return iid


def conversation(store: Store, questions: list[str], **fields: Any) -> list[int]:
    """A conversation asking `questions` in turn; return the interaction ids."""
    cid = store.ingest.start_conversation(reviewer="ana")
    return [
        add_interaction(store, q, conversation_id=cid, turn=n, hour=10 + n, **fields)
        for n, q in enumerate(questions, start=1)
    ]


def fill_sample(store: Store, *, last_day: date = date(2026, 3, 31), days: int = 45,
                per_day: int = 24, seed: int = 3) -> None:
    """A realistic small data set: models, variants, sources, conversations, ratings, tags."""
    rng = random.Random(seed)
    variants = [store.experiments.add_variant(name) for name in ("baseline", "concise")]
    quality = {"llama3.2:3b": 3.4, "qwen2.5:7b": 4.1, "mistral:7b": 3.8}
    speed = {"llama3.2:3b": 600, "qwen2.5:7b": 1400, "mistral:7b": 1000}
    for offset in range(days):
        day = last_day - timedelta(days=days - 1 - offset)
        for _ in range(per_day // 3):
            model = rng.choice(MODELS)
            first = rng.choice(QUESTIONS)
            reask = rng.random() < 0.2
            follow = first.lower().rstrip("?") + "??" if reask else rng.choice(QUESTIONS)
            failed = rng.random() < 0.04 + (0.06 if model == "llama3.2:3b" else 0)
            ids = conversation(
                store, [first, follow, rng.choice(QUESTIONS)], day=day, model=model,
                variant_id=rng.choice(variants), source=rng.choice(["chat", "import"]),
                latency_ms=round(rng.lognormvariate(0, 0.4) * speed[model], 1),
                ttft_ms=round(rng.lognormvariate(0, 0.3) * speed[model] / 5, 1),
                error="Cannot reach the Ollama server." if failed else None,
            )
            for iid in ids:
                if failed or rng.random() < 0.3:
                    continue
                stars = max(1, min(5, round(rng.gauss(quality[model], 1.0))))
                store.review.save_rating(
                    iid, rng.choice(["ana", "ben", "chen"]), stars=stars,
                    thumbs=1 if stars >= 4 else (-1 if stars <= 2 else None),
                    tags=rng.sample(TAGS, 1) if stars <= 3 and rng.random() < 0.6 else [],
                )
