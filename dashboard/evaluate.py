"""Automatic metrics of an answer against a reference answer.

Similarity compares the answer with the reference (never with the question). All metrics work on
words after SQuAD-style normalization (lower case, punctuation and articles removed), so they are
fast on long answers and do not reward trivial differences in spacing or case.
"""

from __future__ import annotations

import re
import string
from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any

import textdistance

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCTUATION = str.maketrans("", "", string.punctuation)


def normalize(text: str | None) -> str:
    """Lower case, no punctuation, no English articles, single spaces."""
    text = (text or "").lower().translate(_PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


def tokens(text: str | None) -> list[str]:
    """Normalized words."""
    return normalize(text).split()


def exact_match(answer: str | None, reference: str | None) -> bool:
    """Whether the normalized answer equals the normalized reference."""
    return normalize(answer) == normalize(reference)


def token_f1(answer: str | None, reference: str | None) -> float:
    """Harmonic mean of word precision and recall (SQuAD F1), 0..1."""
    predicted, gold = tokens(answer), tokens(reference)
    if not predicted or not gold:
        return float(predicted == gold)
    return _f_measure(sum((Counter(predicted) & Counter(gold)).values()), predicted, gold)


def rouge_l(answer: str | None, reference: str | None) -> float:
    """ROUGE-L F-measure: longest common word subsequence, 0..1."""
    predicted, gold = tokens(answer), tokens(reference)
    if not predicted or not gold:
        return float(predicted == gold)
    return _f_measure(_lcs_length(predicted, gold), predicted, gold)


def similarity(answer: str | None, reference: str | None) -> float:
    """textdistance normalized Levenshtein similarity over words, 0..1 (1 = same words)."""
    predicted, gold = tokens(answer), tokens(reference)
    if not predicted and not gold:
        return 1.0
    return float(textdistance.levenshtein.normalized_similarity(predicted, gold))


@dataclass(frozen=True)
class AnswerMetrics:
    """What the side-by-side view shows under an answer."""

    chars: int
    words: int
    similarity: float | None = None
    rouge_l: float | None = None
    token_f1: float | None = None
    exact_match: bool | None = None

    def as_dict(self) -> dict[str, object]:
        """Plain dict, for tables."""
        return asdict(self)


def answer_metrics(answer: str | None, reference: str | None = None) -> AnswerMetrics:
    """Length always; similarity, ROUGE-L, token F1 and exact match when a reference exists."""
    text = answer or ""
    base: dict[str, Any] = {"chars": len(text), "words": len(text.split())}
    if not reference or not reference.strip():
        return AnswerMetrics(**base)
    return AnswerMetrics(
        **base,
        similarity=similarity(text, reference),
        rouge_l=rouge_l(text, reference),
        token_f1=token_f1(text, reference),
        exact_match=exact_match(text, reference),
    )


def _f_measure(overlap: int, predicted: list[str], gold: list[str]) -> float:
    """Harmonic mean of overlap/len(predicted) and overlap/len(gold)."""
    if overlap == 0:
        return 0.0
    precision, recall = overlap / len(predicted), overlap / len(gold)
    return 2 * precision * recall / (precision + recall)


def _lcs_length(a: list[str], b: list[str]) -> int:
    if len(a) < len(b):
        a, b = b, a
    previous = [0] * (len(b) + 1)
    for x in a:
        current = [0]
        for j, y in enumerate(b, 1):
            current.append(previous[j - 1] + 1 if x == y else max(previous[j], current[j - 1]))
        previous = current
    return previous[-1]
