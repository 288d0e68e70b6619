"""Automatic answer metrics against a reference answer."""

from __future__ import annotations

import pytest

from dashboard.evaluate import answer_metrics, exact_match, rouge_l, similarity, token_f1


def test_exact_match_ignores_case_punctuation_and_articles():
    assert exact_match("The Eiffel Tower!", "eiffel tower")
    assert not exact_match("Eiffel", "Eiffel Tower")


def test_token_f1_by_hand():
    # answer words: paris is capital (3), reference: paris (1): common 1 -> P=1/3, R=1 -> F1=0.5
    assert token_f1("Paris is the capital", "Paris") == pytest.approx(0.5)
    assert token_f1("Rome", "Paris") == 0.0


def test_rouge_l_by_hand():
    # LCS of "police killed gunman" and "police kill gunman" is "police gunman" (2 of 3 words)
    assert rouge_l("police killed the gunman", "the police kill the gunman") == pytest.approx(2 / 3)
    assert rouge_l("same words here", "same words here") == 1.0


def test_similarity_compares_with_the_reference_not_the_question():
    reference = "Open Settings, then Export, then choose CSV."
    close = "Open Settings then Export and choose CSV"
    far = "I cannot help with that request."
    assert similarity(close, reference) > 0.7 > similarity(far, reference)
    assert similarity(reference, reference) == 1.0


def test_metrics_without_reference_give_length_only():
    metrics = answer_metrics("two words")
    assert (metrics.chars, metrics.words, metrics.similarity, metrics.rouge_l) == (9, 2, None, None)
    with_reference = answer_metrics("two words", "two words")
    assert with_reference.exact_match and with_reference.token_f1 == 1.0
