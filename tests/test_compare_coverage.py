"""The leaderboard, win-rate and bias intervals hold the truth at every sample size.

Votes are drawn from known strengths (Davidson's model: Bradley-Terry with ties); each setting
is fitted on 1000 simulated tables at once. 95% intervals must hold the true value at least 90%
of the time at every size from 3 to 200 votes per pair, with and without ties, unanimous
tables included, and must narrow as votes grow.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.optimize import minimize
from scipy.stats import binomtest

from dashboard.pairwise import (
    PRIOR_SD,
    TIE_PRIOR,
    PairCounts,
    Vote,
    exact_interval,
    fit_strengths,
    pair_stats,
    ranking,
)
from dashboard.pairwise_coverage import (
    elo_strengths,
    leaderboard_coverage,
    side_effect_coverage,
    win_rate_coverage,
)

SIZES = (3, 5, 10, 20, 40, 100, 200)  # votes per pair
REPLICATES = 1000
STRENGTHS = {
    "four variants, 60 to 400 points apart": [-200, -70, 70, 200],
    "a clear best and worst, unanimous at small sizes": [-400, -100, 100, 400],
    "three equal variants": [0, 0, 0],
}
TIES = {"no ties": 0.0, "many ties": 0.6}  # Davidson's nu: 0.6 gives about 23% ties when even


@pytest.mark.parametrize("tie_rate", TIES.values(), ids=TIES.keys())
@pytest.mark.parametrize("points", STRENGTHS.values(), ids=STRENGTHS.keys())
def test_leaderboard_intervals_hold_the_true_scores_and_narrow(points, tie_rate):
    rng = np.random.default_rng(12)
    theta = elo_strengths(points)
    results = [leaderboard_coverage(theta, tie_rate, n, REPLICATES, rng) for n in SIZES]
    for n, result in zip(SIZES, results):
        assert result.coverage >= 0.90, f"{n} votes per pair: coverage {result.coverage:.3f}"
    widths = [r.width for r in results]
    assert widths == sorted(widths, reverse=True), widths
    assert widths[-1] < widths[0] / 5
    if points[0] != points[-1]:
        assert results[0].unanimous > 0.5  # the smallest tables are mostly unanimous somewhere


@pytest.mark.parametrize("tie_rate", TIES.values(), ids=TIES.keys())
@pytest.mark.parametrize("points", STRENGTHS.values(), ids=STRENGTHS.keys())
def test_win_rate_intervals_hold_the_true_share(points, tie_rate):
    rng = np.random.default_rng(5)
    theta = elo_strengths(points)
    results = [win_rate_coverage(theta, tie_rate, n, REPLICATES, rng) for n in SIZES]
    for n, result in zip(SIZES, results):
        assert result.coverage >= 0.90, f"{n} votes per pair: coverage {result.coverage:.3f}"
    widths = [r.width for r in results]
    assert widths == sorted(widths, reverse=True)


@pytest.mark.parametrize("effect", [0.0, 0.4, 1.0], ids=["no bias", "some bias", "strong bias"])
@pytest.mark.parametrize("tie_rate", TIES.values(), ids=TIES.keys())
def test_position_and_length_checks_hold_the_true_share(effect, tie_rate):
    # both checks are the share of decisive votes won by one side (left, or longer) of a vote
    rng = np.random.default_rng(8)
    theta = elo_strengths(STRENGTHS["four variants, 60 to 400 points apart"])
    results = [side_effect_coverage(theta, tie_rate, effect, n, REPLICATES, rng) for n in SIZES]
    for n, result in zip(SIZES, results):
        assert result.coverage >= 0.90, f"{n} votes per pair: coverage {result.coverage:.3f}"
    widths = [r.width for r in results]
    assert widths == sorted(widths, reverse=True)


def test_three_unanimous_votes_claim_no_difference():
    votes = [Vote("friendly", "concise", "b")] * 3
    [pair] = pair_stats(votes)
    assert pair.p_value == pytest.approx(0.25)
    board = ranking(votes)
    best, worst = board.rows
    assert best.variant == "concise"
    for row in board.rows:
        assert row.ci_high - row.ci_low > 200  # honest width, not a point
    assert worst.ci_high > best.ci_low  # the intervals overlap
    assert not board.enough and board.shown == []
    assert "Not enough votes to rank" in board.sentence()
    assert (best.rank_best, best.rank_worst) == (1, 2) == (worst.rank_best, worst.rank_worst)


def test_four_unanimous_votes_keep_an_even_split_in_the_win_rate_interval():
    # the sign test's p is 0.125: the interval must not rule out 50%
    [pair] = pair_stats([Vote("x", "y", "a")] * 4)
    assert pair.p_value == pytest.approx(0.125)
    assert pair.ci_low <= 0.5 <= pair.ci_high


@pytest.mark.parametrize("ties", [0, 2, 10])
def test_the_leaderboard_never_claims_a_difference_the_sign_test_beside_it_does_not(ties):
    for wins in range(31):
        for losses in range(31):
            votes = ([Vote("A", "B", "a")] * wins + [Vote("A", "B", "b")] * losses
                     + [Vote("A", "B", "tie")] * ties)
            if not votes:
                continue
            board = ranking(votes)
            [pair] = pair_stats(votes)
            if board.enough:
                assert pair.p_value < 0.05, (wins, losses, ties)
                better = "A" if wins > losses else "B"
                assert board.shown[0][0] == better


def test_a_ranking_through_a_third_variant_stays_silent_when_the_direct_votes_disagree():
    # A beats C and C beats B overwhelmingly, but B leads A in their own few votes
    votes = ([Vote("A", "C", "a")] * 40 + [Vote("C", "B", "a")] * 40
             + [Vote("A", "B", "b")] * 2 + [Vote("A", "B", "a")] * 1)
    board = ranking(votes)
    assert ("A", "C") in board.shown and ("C", "B") in board.shown
    assert ("A", "B") not in board.shown and ("B", "A") not in board.shown


def test_clear_votes_are_ranked():
    votes = ([Vote("A", "B", "a")] * 30 + [Vote("A", "B", "b")] * 5 + [Vote("B", "C", "a")] * 30
             + [Vote("B", "C", "b")] * 5 + [Vote("A", "C", "a")] * 30)
    board = ranking(votes)
    assert [row.variant for row in board.rows] == ["A", "B", "C"]
    assert board.enough and board.shown == [("A", "B"), ("A", "C"), ("B", "C")]
    assert [(r.rank_best, r.rank_worst) for r in board.rows] == [(1, 1), (2, 2), (3, 3)]
    for row in board.rows:
        assert row.ci_low < row.score < row.ci_high


def test_the_fit_is_the_posterior_mode_found_by_a_general_optimiser():
    rng = np.random.default_rng(3)
    first, second = np.triu_indices(4, 1)
    wins, losses, ties = (rng.integers(0, 12, size=(1, 6)) for _ in range(3))
    mode, covariance = fit_strengths(PairCounts(first, second, wins, losses, ties), 4)
    tie_mean, tie_sd = TIE_PRIOR

    def negative_log_posterior(x):
        theta, log_nu = x[:4], x[4]
        half = (theta[first] - theta[second]) / 2
        log_z = np.log(np.exp(half) + np.exp(-half) + np.exp(log_nu))
        likelihood = (wins[0] * (half - log_z) + losses[0] * (-half - log_z)
                      + ties[0] * (log_nu - log_z)).sum()
        prior = (theta**2).sum() / (2 * PRIOR_SD**2) + (log_nu - tie_mean) ** 2 / (2 * tie_sd**2)
        return prior - likelihood

    found = minimize(negative_log_posterior, np.zeros(5), method="BFGS", options={"gtol": 1e-9})
    assert mode[0] == pytest.approx(found.x[:4] - found.x[:4].mean(), abs=1e-5)
    assert np.allclose(covariance[0], covariance[0].T) and np.all(np.diag(covariance[0]) > 0)


@pytest.mark.parametrize("successes,n", [(0, 4), (4, 4), (7, 20), (250, 1000), (3, 3)])
def test_exact_interval_is_the_inverted_binomial_test(successes, n):
    low, high = exact_interval(successes, n)
    expected = binomtest(successes, n).proportion_ci(0.95, method="exact")
    assert (low, high) == pytest.approx((expected.low, expected.high), abs=1e-9)
    assert math.isfinite(low) and math.isfinite(high)
