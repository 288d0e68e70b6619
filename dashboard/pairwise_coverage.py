"""Coverage of the pairwise statistics, measured by simulation from known strengths.

Votes are drawn from Davidson's model (Bradley-Terry with ties) with chosen log-strengths and
tie rate; the leaderboard, the win-rate interval and the bias checks are computed on every
simulated table, and we count how often their 95% intervals hold the true value. Everything is
vectorised over replicates, so thousands of tables take seconds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dashboard.pairwise import ELO, Z95, PairCounts, exact_bounds, fit_strengths


def elo_strengths(points: list[float]) -> np.ndarray:
    """Log-strengths from Elo-scale offsets, centred (the leaderboard's 1000 is their mean)."""
    theta = np.asarray(points, dtype=float) / ELO
    return theta - theta.mean()


def outcome_probabilities(half: np.ndarray, tie_rate: float) -> np.ndarray:
    """P(first wins), P(second wins), P(tie) under Davidson's model, half = (θ_i − θ_j) / 2."""
    weights = np.stack([np.exp(half), np.exp(-half), np.full_like(half, tie_rate)], axis=-1)
    return weights / weights.sum(axis=-1, keepdims=True)


def simulate(
    theta: np.ndarray, tie_rate: float, per_pair: int, replicates: int, rng: np.random.Generator
) -> PairCounts:
    """``replicates`` tables of ``per_pair`` votes between every two variants."""
    first, second = np.triu_indices(len(theta), 1)
    probabilities = outcome_probabilities((theta[first] - theta[second]) / 2, tie_rate)
    drawn = np.stack([rng.multinomial(per_pair, p, size=replicates) for p in probabilities], 1)
    return PairCounts(first, second, drawn[..., 0], drawn[..., 1], drawn[..., 2])


@dataclass(frozen=True)
class Coverage:
    """How often intervals held the truth, and how wide they were."""

    coverage: float  # the worst over variants (or pairs)
    width: float  # mean width of the 95% intervals (Elo points, or share for proportions)
    unanimous: float  # share of replicates where some pair's decisive votes all went one way


def leaderboard_coverage(
    theta: np.ndarray, tie_rate: float, per_pair: int, replicates: int, rng: np.random.Generator
) -> Coverage:
    """Coverage of the leaderboard's 95% intervals of every variant's centred score."""
    counts = simulate(theta, tie_rate, per_pair, replicates, rng)
    mode, covariance = fit_strengths(counts, len(theta))
    spread = np.sqrt(np.diagonal(covariance, axis1=1, axis2=2))
    held = np.abs(mode - theta) <= Z95 * spread
    return Coverage(float(held.mean(axis=0).min()), float(2 * Z95 * ELO * spread.mean()),
                    _unanimous(counts))


def win_rate_coverage(
    theta: np.ndarray, tie_rate: float, per_pair: int, replicates: int, rng: np.random.Generator
) -> Coverage:
    """Coverage of the win-rate interval (ties count half) of every pair's true share."""
    counts = simulate(theta, tie_rate, per_pair, replicates, rng)
    p = outcome_probabilities((theta[counts.first] - theta[counts.second]) / 2, tie_rate)
    truth = p[:, 0] + p[:, 2] / 2
    low, high = exact_bounds(counts.wins + counts.ties / 2, np.full(counts.wins.shape, per_pair))
    held = (low <= truth) & (truth <= high)
    return Coverage(float(held.mean(axis=0).min()), float((high - low).mean()), _unanimous(counts))


def side_effect_coverage(
    theta: np.ndarray, tie_rate: float, effect: float, per_pair: int, replicates: int,
    rng: np.random.Generator,
) -> Coverage:
    """Coverage of a bias check: the share of decisive votes won by the answer on one side
    (the left one, or the longer one), each vote's side drawn at random, with an advantage of
    ``effect`` in log-odds for that side."""
    first, second = np.triu_indices(len(theta), 1)
    gap = theta[first] - theta[second]
    # per pair: the favoured side is variant i's (s = +1) or variant j's (s = -1)
    favoured_i = outcome_probabilities((gap + effect) / 2, tie_rate)  # i on the favoured side
    favoured_j = outcome_probabilities((-gap + effect) / 2, tie_rate)  # j on the favoured side
    on_i = rng.binomial(per_pair, 0.5, size=(replicates, len(first)))
    hits = decisive = np.zeros(replicates, dtype=np.int64)
    for group, probabilities in ((on_i, favoured_i), (per_pair - on_i, favoured_j)):
        for k, (win, loss, _) in enumerate(probabilities):
            outcome = rng.multinomial(group[:, k], [win, loss, max(0.0, 1 - win - loss)])
            hits = hits + outcome[:, 0]
            decisive = decisive + outcome[:, 0] + outcome[:, 1]
    weights = np.concatenate([favoured_i[:, :2], favoured_j[:, :2]])
    truth = weights[:, 0].sum() / weights.sum()
    usable = decisive > 0
    low, high = exact_bounds(hits[usable].astype(float), decisive[usable].astype(float))
    held = (low <= truth) & (truth <= high)
    return Coverage(float(held.mean()), float((high - low).mean()), float(np.mean(
        (hits == decisive) | (hits == 0))))


def _unanimous(counts: PairCounts) -> float:
    decisive = counts.wins + counts.losses
    one_way = (decisive > 0) & ((counts.wins == 0) | (counts.losses == 0))
    return float(one_way.any(axis=1).mean())
