"""Small helpers that fill a test store through the Store's public methods."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from typing import Any

from store import Store


def add_interaction(
    store: Store,
    question: str,
    answer: str | None = "An answer.",
    *,
    created_at: str = "2026-01-01T12:00:00.000Z",
    **fields: Any,
) -> int:
    """One interaction with a chosen time (and any other column); returns its id."""
    iid = store.ingest.max_interaction_id() + 1
    store.ingest.insert_interactions_bulk(
        [{"id": iid, "question": question, "answer": answer, "created_at": created_at,
          "turn": fields.pop("turn", 1), "source": fields.pop("source", "chat"), **fields}]
    )
    return iid


def add_conversation(
    store: Store, turns: list[tuple[str, str]], *, model: str = "llama3.2:3b", reviewer: str = "ana"
) -> list[int]:
    """A conversation of (question, answer) turns, as the chat page stores them; returns the ids."""
    conversation = store.ingest.start_conversation(reviewer=reviewer)
    ids = []
    for question, answer in turns:
        iid = store.ingest.add_question(conversation, question, model=model, backend="ollama")
        store.ingest.record_answer(iid, answer=answer, model=model, backend="ollama", latency_ms=420.0,
                            prompt_tokens=12, completion_tokens=34)
        ids.append(iid)
    return ids


def review_store(store: Store) -> dict[str, Any]:
    """A small, varied data set for the Review, Annotate and filter tests; returns its ids."""
    baseline = store.experiments.add_variant("baseline", model="llama3.2:3b")
    concise = store.experiments.add_variant("concise", model="qwen2.5:7b")
    ids: dict[str, Any] = {}
    ids["password"] = add_interaction(
        store, "How do I reset my password?", "Click *Forgot password* on the sign-in page.",
        model="llama3.2:3b", variant_id=baseline, source="chat",
        created_at="2026-01-05T09:00:00.000Z", latency_ms=800.0,
    )
    ids["charged"] = add_interaction(
        store, "Why was I charged twice?", "A refund always takes five days.",
        model="qwen2.5:7b", variant_id=concise, source="import",
        created_at="2026-01-10T09:00:00.000Z",
    )
    ids["parcel"] = add_interaction(
        store, "Where is my parcel?", "It is on its way.",
        model="llama3.2:3b", variant_id=baseline, source="import",
        created_at="2026-01-15T09:00:00.000Z",
    )
    ids["failed"] = add_interaction(
        store, "Translate hello into French", None, error="Cannot reach the Ollama server.",
        model="qwen2.5:7b", source="chat", created_at="2026-01-20T09:00:00.000Z",
    )
    ids["policy"] = add_interaction(
        store, "What is the refund policy?", "You can return items within 30 days.",
        model="mistral:7b", variant_id=concise, source="chat",
        created_at="2026-01-25T09:00:00.000Z",
    )
    ids["trip"] = add_conversation(
        store,
        [("Plan a weekend in Lisbon", "Day one: Alfama. Day two: Belém."),
         ("Add a museum", "Add the Gulbenkian on day two."),
         ("And food?", "Try pastéis de nata in Belém.")],
    )
    store.review.save_rating(ids["password"], "ana", stars=5, thumbs=1)
    store.review.save_rating(ids["password"], "ben", stars=4, thumbs=1)
    store.review.save_rating(ids["charged"], "ana", stars=2, thumbs=-1, tags=["wrong"])
    store.review.save_rating(ids["charged"], "ben", stars=1, thumbs=-1, tags=["wrong", "hallucination"],
                      comment="Invents a policy.",
                      ideal_answer="Sorry about that: a double charge is refunded within a day.")
    store.review.save_rating(ids["parcel"], "chen", stars=3, tags=["incomplete"])
    store.review.save_rating(ids["trip"][1], "ana", stars=4, thumbs=1)
    return ids


def many_interactions(store: Store, n: int, *, model: str = "llama3.2:3b", day: int = 1) -> list[int]:
    """n plain interactions on one day, a second apart (for paging tests); returns their ids."""
    first = store.ingest.max_interaction_id() + 1
    store.ingest.insert_interactions_bulk([
        {"id": first + k, "question": f"Question number {k}", "answer": f"Answer number {k}",
         "model": model, "source": "import", "turn": 1,
         "created_at": f"2026-03-{day:02d}T{k // 3600:02d}:{k // 60 % 60:02d}:{k % 60:02d}.000Z"}
        for k in range(n)
    ])
    return list(range(first, first + n))


# Insights: interactions saved on chosen days, a realistic sample, a small hand-counted one.

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
    moment = datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def add_day_interaction(
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
    """One interaction as it would have been saved on `day` (no answer when it failed); returns
    its id."""
    return add_interaction(
        store, question, None if error else answer, created_at=stamp(day, hour),
        conversation_id=conversation_id, turn=turn, model=model, backend="ollama",
        variant_id=variant_id, latency_ms=latency_ms, ttft_ms=ttft_ms, error=error, source=source,
    )


def conversation(store: Store, questions: list[str], **fields: Any) -> list[int]:
    """A conversation asking `questions` in turn; return the interaction ids."""
    cid = store.ingest.start_conversation(reviewer="ana")
    return [
        add_day_interaction(store, q, conversation_id=cid, turn=n, hour=10 + n, **fields)
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


def small_sample(store: Store) -> None:
    """Two days, two models, one failed call (slow, so it must not count in latencies), four
    ratings by two reviewers, three tags."""
    a = add_day_interaction(store, "q a", day="2026-03-09", model="m1", latency_ms=100, ttft_ms=10)
    b = add_day_interaction(store, "q b", day="2026-03-10", model="m1", latency_ms=200, ttft_ms=20)
    add_day_interaction(store, "q c", day="2026-03-10", model="m1", error="timeout",
                        latency_ms=60_000)
    d = add_day_interaction(store, "q d", day="2026-03-10", model="m2", latency_ms=400,
                            ttft_ms=40, source="import")
    store.review.save_rating(a, "ana", stars=5, thumbs=1, tags=["formatting"])
    store.review.save_rating(a, "ben", stars=3)
    store.review.save_rating(b, "ana", stars=4, thumbs=-1)
    store.review.save_rating(d, "ana", stars=1, thumbs=-1, tags=["wrong", "too long"])
