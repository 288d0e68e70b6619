"""Small helpers that fill a test store through the Store's public methods."""

from __future__ import annotations

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
