"""Loupe's own interaction records (JSONL object per line, CSV row, or Parquet row).

- ``question`` (or ``input``, ``prompt``) is required; ``answer`` (or ``response``, ``output``).
- A rating: ``rating`` (1-5, or ``stars``), ``thumbs`` (up/down, 1/-1, true/false), ``comment``,
  ``tags`` (a list or comma-separated text), ``ideal_answer``, by ``reviewer`` (default
  "imported").
- ``model``, ``variant`` (a variant name), ``created_at`` (ISO 8601, stored in UTC),
  ``latency_ms``, ``ttft_ms``, ``prompt_tokens``, ``completion_tokens``, ``system_prompt``,
  ``backend``, ``error``, ``conversation_id`` and ``turn``, ``external_id``, ``meta`` (an object).
- Any other field is kept inside ``meta``.
"""

from __future__ import annotations

from typing import Any

from dashboard.formats import checks
from dashboard.formats.checks import Bad
from store.dates import kind_of
from store.ingest import ImportRating, ImportRow

KNOWN_FIELDS = frozenset({
    "question", "answer", "rating", "thumbs", "comment", "tags", "ideal_answer", "reviewer",
    "model", "variant", "created_at", "latency_ms", "ttft_ms", "prompt_tokens",
    "completion_tokens", "system_prompt", "backend", "error", "conversation_id", "turn",
    "external_id", "meta",
})
ALIASES = {
    "input": "question", "prompt": "question",
    "response": "answer", "output": "answer",
    "stars": "rating",
}
QUESTION_NAMES = ("question", "input", "prompt")


def detect(first: dict[str, Any]) -> bool:
    """Any record with a question field."""
    return any(name in first for name in QUESTION_NAMES)


def parse(obj: Any) -> list[ImportRow]:
    """One record as a checked interaction (with its rating, when it carries one)."""
    return [interaction(obj)]


_SHORT = checks.FIELD_LIMIT // 4  # characters that always fit in a field


def _text(value: Any, name: str) -> str | None:
    """checks.text, without a call for the usual short text."""
    if value is None or (type(value) is str and 0 < len(value) <= _SHORT):
        return value
    return checks.text(value, name)


def _count(value: Any, name: str, high: int) -> int | None:
    """checks.whole from 0, without a call for the usual whole number."""
    if value is None or (type(value) is int and 0 <= value <= high):
        return value
    return checks.whole(value, name, 0, high)


def _latency(value: Any, name: str) -> float | None:
    """checks.number, without a call for the usual number."""
    if type(value) is float and 0 <= value < 1e300:
        return value
    return checks.number(value, name)


def interaction(obj: Any) -> ImportRow:
    """One JSON object or CSV row as a checked ImportRow; raise Bad with the reason."""
    if not isinstance(obj, dict):
        raise Bad(f"each line must be a JSON object, not {kind_of(obj)}")
    extras: dict[str, Any] = {}
    if KNOWN_FIELDS.issuperset(obj):
        fields = obj  # the usual case: every field known (a null value counts as absent)
    else:
        fields = {k: v for k, v in obj.items() if k in KNOWN_FIELDS and v is not None}
        for name, value in obj.items():
            if name in KNOWN_FIELDS:
                continue
            canonical = ALIASES.get(name)
            if canonical is not None and canonical not in fields and value is not None:
                fields[canonical] = value
            else:
                extras[name] = value

    get = fields.get
    question = checks.required_text(
        get("question"), "question", " (a question, input or prompt field is required)"
    )
    answer = _text(get("answer"), "answer")
    model = _text(get("model"), "model")
    variant = _text(get("variant"), "variant")
    error = _text(get("error"), "error")
    created_at = checks.normalize_time(get("created_at"))
    conversation = checks.key(get("conversation_id"), "conversation_id")
    turn = _count(get("turn"), "turn", checks.MAX_TURN)

    stars = get("rating")
    if stars is not None and not (type(stars) is int and 1 <= stars <= 5):
        stars = checks.whole(stars, "rating", 1, 5)
    thumbs = checks.thumbs(get("thumbs"))
    comment = _text(get("comment"), "comment")
    tags = checks.tags(get("tags"))
    ideal = _text(get("ideal_answer"), "ideal_answer")
    reviewer = (_text(get("reviewer"), "reviewer") or "").strip() or checks.DEFAULT_REVIEWER
    rating = None
    if stars is not None or thumbs is not None or comment or tags or ideal:
        rating = ImportRating(reviewer, stars, thumbs, comment, tags, ideal)

    meta = checks.meta_object(get("meta"))
    if extras:
        meta = dict(meta)
        for name, value in extras.items():
            meta[f"{name} (field)" if name in meta else name] = value

    return ImportRow(
        question=question,
        content_hash=checks.content_hash(question, answer, error, model, variant, created_at,
                                         conversation, turn),
        answer=answer,
        model=model,
        variant=variant,
        created_at=created_at,
        latency_ms=_latency(get("latency_ms"), "latency_ms"),
        ttft_ms=checks.number(get("ttft_ms"), "ttft_ms"),
        prompt_tokens=_count(get("prompt_tokens"), "prompt_tokens", checks.MAX_TOKENS),
        completion_tokens=_count(get("completion_tokens"), "completion_tokens", checks.MAX_TOKENS),
        system_prompt=_text(get("system_prompt"), "system_prompt"),
        backend=_text(get("backend"), "backend"),
        error=error,
        conversation_key=conversation,
        turn=turn,
        external_id=checks.key(get("external_id"), "external_id"),
        meta=checks.meta_text(meta),
        rating=rating,
    )
