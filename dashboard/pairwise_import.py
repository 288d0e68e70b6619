"""The pairwise format: votes collected elsewhere, one per JSONL line, CSV row or Parquet row.

``question`` (or ``prompt``), ``answer_a``, ``answer_b``, ``winner`` (a, b, tie, both_bad),
optional ``variant_a``/``variant_b`` (default "a"/"b"), ``model_a``/``model_b``, ``reviewer``,
``reason``, ``created_at`` and ``external_id``. A preference pair ``{"prompt", "chosen",
"rejected"}`` is read as the Hugging Face / TRL format reads it (the chosen answer wins).
A vote without an external id is known by a digest of what it says, so importing the same file
again adds nothing.
"""

from __future__ import annotations

from typing import Any

from dashboard.formats import checks, trl
from dashboard.formats.checks import Bad
from store.dates import kind_of
from store.ingest import ImportVote


def detect(first: dict[str, Any]) -> bool:
    """Records with two answers."""
    return {"answer_a", "answer_b"} <= set(first)


def parse(obj: Any) -> list[ImportVote]:
    """One record as a checked vote."""
    if not isinstance(obj, dict):
        raise Bad(f"each line must be a JSON object, not {kind_of(obj)}")
    if "chosen" in obj or "rejected" in obj:
        return [trl.preference(obj)]
    question = checks.required_text(obj.get("question", obj.get("prompt")), "question",
                                    " (a vote needs question, answer_a, answer_b and winner)")
    answer_a = checks.text(obj.get("answer_a"), "answer_a")
    answer_b = checks.text(obj.get("answer_b"), "answer_b")
    if answer_a is None or answer_b is None:
        raise Bad("no answer_a or answer_b (a vote needs question, answer_a, answer_b and winner)")
    winner = checks.winner(obj.get("winner"))
    variant_a = checks.text(obj.get("variant_a"), "variant_a") or "a"
    variant_b = checks.text(obj.get("variant_b"), "variant_b") or "b"
    reviewer = checks.text(obj.get("reviewer"), "reviewer")
    parts = (question, answer_a, answer_b, variant_a, variant_b, winner, reviewer)
    return [ImportVote(
        question=question, answer_a=answer_a, answer_b=answer_b, variant_a=variant_a,
        variant_b=variant_b, winner=winner,
        external_id=checks.key(obj.get("external_id"), "external_id") or checks.vote_digest(*parts),
        reviewer=reviewer, reason=checks.text(obj.get("reason"), "reason"),
        created_at=checks.normalize_time(obj.get("created_at")),
        model_a=checks.text(obj.get("model_a"), "model_a"),
        model_b=checks.text(obj.get("model_b"), "model_b"),
    )]
