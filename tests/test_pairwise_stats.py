"""Pairwise statistics checked against independent implementations (scipy, statsmodels)."""

from __future__ import annotations

import math

import pytest
from scipy.stats import binomtest
from statsmodels.stats.proportion import proportion_confint

from dashboard.pairwise import (
    Vote,
    exact_interval,
    leaderboard,
    length_bias,
    pair_stats,
    position_bias,
    sign_test,
    votes_needed,
)


@pytest.mark.parametrize("wins,losses", [(0, 0), (1, 0), (7, 3), (3, 7), (12, 12), (40, 25), (0, 9)])
def test_sign_test_matches_scipy_binomtest(wins, losses):
    expected = 1.0 if wins + losses == 0 else binomtest(wins, wins + losses, 0.5).pvalue
    assert sign_test(wins, losses) == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("successes,n", [(0, 10), (10, 10), (7, 20), (250, 1000)])
def test_exact_interval_matches_statsmodels_clopper_pearson(successes, n):
    low, high = proportion_confint(successes, n, alpha=0.05, method="beta")
    assert exact_interval(successes, n) == pytest.approx((low, high), abs=1e-9)


def _votes(spec):
    out = []
    for a, b, winner, count in spec:
        out += [Vote(a, b, winner)] * count
    return out


def test_pair_tally_rates_interval_and_p_value():
    votes = _votes([("short", "long", "a", 12), ("short", "long", "b", 5),
                    ("long", "short", "a", 3), ("short", "long", "tie", 4),
                    ("short", "long", "both_bad", 2)])
    [pair] = pair_stats(votes)
    # names are sorted: variant_a = "long", variant_b = "short"
    assert (pair.variant_a, pair.variant_b) == ("long", "short")
    assert (pair.n, pair.a_wins, pair.b_wins, pair.ties, pair.both_bad) == (26, 8, 12, 4, 2)
    assert pair.b_win_rate == pytest.approx((12 + 3) / 26)
    assert pair.a_win_rate + pair.b_win_rate == pytest.approx(1.0)
    low, high = proportion_confint(15, 26, method="beta")
    assert (pair.ci_low, pair.ci_high) == pytest.approx((low, high))
    assert pair.p_value == pytest.approx(binomtest(12, 20, 0.5).pvalue)


def test_votes_needed_shrinks_the_interval_to_the_margin():
    more = votes_needed(0.6, 0.05, n_now=100)
    total = 100 + more
    low, high = exact_interval(0.6 * total, total)
    assert (high - low) / 2 == pytest.approx(0.05, abs=0.002)
    assert votes_needed(0.6, 0.05, n_now=10_000) == 0
    with pytest.raises(ValueError):
        votes_needed(0.5, 0)


def test_leaderboard_orders_variants_with_intervals_around_scores():
    votes = _votes([("A", "B", "a", 30), ("A", "B", "b", 10), ("B", "C", "a", 25),
                    ("B", "C", "b", 15), ("A", "C", "a", 20), ("A", "C", "tie", 5)])
    board = leaderboard(votes)
    assert [row.variant for row in board] == ["A", "B", "C"]
    for row in board:
        assert row.ci_low <= row.score <= row.ci_high
    assert board[0].ci_low > board[2].ci_high
    assert leaderboard(votes) == board  # the same votes, the same board


def test_undefeated_variant_stays_finite():
    board = leaderboard(_votes([("A", "B", "a", 5)]))
    assert all(math.isfinite(row.score) for row in board)


def test_position_and_length_bias():
    votes = (
        [Vote("x", "y", "a", left_side="a", length_a=300, length_b=100)] * 8
        + [Vote("x", "y", "b", left_side="a", length_a=300, length_b=100)] * 2
        + [Vote("x", "y", "tie", left_side="b", length_a=10, length_b=20)] * 5
    )
    position = position_bias(votes)
    assert (position.n, position.share) == (10, 0.8)
    assert position.p_value == pytest.approx(binomtest(8, 10, 0.5).pvalue)
    length = length_bias(votes)
    assert (length.n, length.share) == (10, 0.8)
    assert position_bias([]).share is None
