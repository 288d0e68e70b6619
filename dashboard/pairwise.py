"""Honest statistics for blind pairwise votes between prompt variants.

A vote says which of two answers was better: ``a``, ``b``, ``tie`` or ``both_bad``. Win rates count
ties and both-bad votes as half a win for each side; intervals are 95% Wilson score intervals; the
sign test uses decisive votes only; the leaderboard is a Bradley-Terry fit with bootstrap intervals.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from statistics import NormalDist

WINNERS = ("a", "b", "tie", "both_bad")
Z95 = NormalDist().inv_cdf(0.975)


@dataclass(frozen=True)
class Vote:
    """One blind vote between the answers of variant_a and variant_b."""

    variant_a: str
    variant_b: str
    winner: str  # a, b, tie, both_bad
    left_side: str | None = None  # which answer was shown on the left: a or b
    length_a: int | None = None
    length_b: int | None = None

    def flipped(self) -> Vote:
        """The same vote seen from the other side (a and b swapped)."""
        swap = {"a": "b", "b": "a"}
        return Vote(
            self.variant_b,
            self.variant_a,
            swap.get(self.winner, self.winner),
            swap.get(self.left_side or "", None),
            self.length_b,
            self.length_a,
        )


@dataclass(frozen=True)
class PairStats:
    """The tally and statistics of one pair of variants."""

    variant_a: str
    variant_b: str
    n: int
    a_wins: int
    b_wins: int
    ties: int
    both_bad: int
    a_win_rate: float
    b_win_rate: float
    ci_low: float  # bounds of b_win_rate
    ci_high: float
    p_value: float  # two-sided sign test on decisive votes

    def as_dict(self) -> dict[str, object]:
        """Plain dict, as `stats pairwise --json` prints it."""
        return asdict(self)


def wilson_interval(successes: float, n: float, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval of a proportion (successes may be fractional: ties count half)."""
    if n <= 0:
        return (0.0, 1.0)
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return (max(0.0, centre - half), min(1.0, centre + half))


def sign_test(wins: int, losses: int) -> float:
    """Two-sided exact sign test p-value of wins against losses (ties left out)."""
    n = wins + losses
    if n == 0:
        return 1.0
    k = min(wins, losses)
    tail = sum(math.comb(n, i) for i in range(k + 1)) / 2**n
    return min(1.0, 2 * tail)


def votes_needed(rate: float, margin: float, n_now: int = 0, z: float = Z95) -> int:
    """About how many more votes bring the 95% interval's half-width down to ``margin``."""
    if not 0 < margin < 1:
        raise ValueError("the margin must be between 0 and 1, e.g. 0.05 for ±5 points")
    p = min(max(rate, 0.05), 0.95)  # never promise certainty from a lopsided start
    total = math.ceil(z * z * p * (1 - p) / (margin * margin))
    return max(0, total - n_now)


def pair_stats(votes: Iterable[Vote]) -> list[PairStats]:
    """Statistics per pair of variants; each pair appears once, names in sorted order."""
    tallies: dict[tuple[str, str], list[int]] = {}
    for vote in votes:
        if vote.winner not in WINNERS:
            raise ValueError(f"unknown winner {vote.winner!r}: expected one of {WINNERS}")
        if vote.variant_a == vote.variant_b:
            continue
        if vote.variant_a > vote.variant_b:
            vote = vote.flipped()
        tally = tallies.setdefault((vote.variant_a, vote.variant_b), [0, 0, 0, 0])
        tally[WINNERS.index(vote.winner)] += 1
    result = []
    for (a, b), (a_wins, b_wins, ties, both_bad) in sorted(tallies.items()):
        n = a_wins + b_wins + ties + both_bad
        half = 0.5 * (ties + both_bad)
        low, high = wilson_interval(b_wins + half, n)
        result.append(
            PairStats(
                variant_a=a,
                variant_b=b,
                n=n,
                a_wins=a_wins,
                b_wins=b_wins,
                ties=ties,
                both_bad=both_bad,
                a_win_rate=(a_wins + half) / n,
                b_win_rate=(b_wins + half) / n,
                ci_low=low,
                ci_high=high,
                p_value=sign_test(b_wins, a_wins),
            )
        )
    return result


# -- Bradley-Terry --------------------------------------------------------------


def bradley_terry(
    votes: Sequence[Vote], prior: float = 0.5, iterations: int = 500, tolerance: float = 1e-10
) -> dict[str, float]:
    """Bradley-Terry strengths by the MM algorithm (ties and both-bad count half a win each).

    Strengths are normalized to a geometric mean of 1. The prior adds ``2 * prior`` tied games
    against a virtual opponent of strength 1, which keeps undefeated or winless variants finite;
    ``prior=0`` is the plain maximum-likelihood fit.
    """
    names = sorted({v.variant_a for v in votes} | {v.variant_b for v in votes})
    if not names:
        return {}
    wins = {name: float(prior) for name in names}
    games: dict[tuple[str, str], float] = {}
    for vote in votes:
        if vote.variant_a == vote.variant_b:
            continue
        share_a = {"a": 1.0, "b": 0.0}.get(vote.winner, 0.5)
        wins[vote.variant_a] += share_a
        wins[vote.variant_b] += 1 - share_a
        key = tuple(sorted((vote.variant_a, vote.variant_b)))
        games[key] = games.get(key, 0.0) + 1
    strength = {name: 1.0 for name in names}
    for _ in range(iterations):
        updated = {}
        for name in names:
            denominator = 2 * prior / (strength[name] + 1.0)
            for (x, y), count in games.items():
                if name in (x, y):
                    other = y if name == x else x
                    denominator += count / (strength[name] + strength[other])
            updated[name] = wins[name] / denominator
        scale = math.exp(sum(math.log(s) for s in updated.values()) / len(updated))
        updated = {name: s / scale for name, s in updated.items()}
        change = max(abs(updated[n] - strength[n]) for n in names)
        strength = updated
        if change < tolerance:
            break
    return strength


def elo_scale(strength: float) -> float:
    """A Bradley-Terry strength on the familiar Elo scale (1000 = average, +400 = 10x odds)."""
    return 1000 + 400 * math.log10(strength)


@dataclass(frozen=True)
class LeaderboardRow:
    """One variant's Bradley-Terry score (Elo scale) with its bootstrap 95% interval."""

    variant: str
    score: float
    ci_low: float
    ci_high: float
    votes: int

    def as_dict(self) -> dict[str, object]:
        """Plain dict, as `stats pairwise --json` prints it."""
        return asdict(self)


def leaderboard(votes: Sequence[Vote], resamples: int = 200, seed: int = 0) -> list[LeaderboardRow]:
    """Variants ranked by Bradley-Terry score, with percentile bootstrap intervals over votes."""
    votes = [v for v in votes if v.variant_a != v.variant_b]
    point = bradley_terry(votes)
    if not point:
        return []
    rng = random.Random(seed)
    samples: dict[str, list[float]] = {name: [] for name in point}
    for _ in range(resamples):
        resampled = [votes[rng.randrange(len(votes))] for _ in votes]
        fitted = bradley_terry(resampled, iterations=200, tolerance=1e-8)
        for name in point:
            # a variant missing from a resample has no information: it sits at the average
            samples[name].append(elo_scale(fitted.get(name, 1.0)))
    counts = {name: 0 for name in point}
    for vote in votes:
        counts[vote.variant_a] += 1
        counts[vote.variant_b] += 1
    rows = []
    for name, strength in point.items():
        ordered = sorted(samples[name])
        rows.append(
            LeaderboardRow(
                variant=name,
                score=elo_scale(strength),
                ci_low=_percentile(ordered, 0.025),
                ci_high=_percentile(ordered, 0.975),
                votes=counts[name],
            )
        )
    return sorted(rows, key=lambda row: row.score, reverse=True)


# -- biases -----------------------------------------------------------------------


@dataclass(frozen=True)
class BiasCheck:
    """How often one kind of answer won among the decisive votes where the check applies."""

    n: int
    share: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None

    def as_dict(self) -> dict[str, object]:
        """Plain dict."""
        return asdict(self)


def _bias(hits: int, n: int) -> BiasCheck:
    if n == 0:
        return BiasCheck(0, None, None, None, None)
    low, high = wilson_interval(hits, n)
    return BiasCheck(n, hits / n, low, high, sign_test(hits, n - hits))


def position_bias(votes: Iterable[Vote]) -> BiasCheck:
    """Share of decisive votes won by the answer shown on the left (0.5 means no bias)."""
    decisive = [v for v in votes if v.winner in ("a", "b") and v.left_side in ("a", "b")]
    return _bias(sum(v.winner == v.left_side for v in decisive), len(decisive))


def length_bias(votes: Iterable[Vote]) -> BiasCheck:
    """Share of decisive votes won by the longer answer (lengths equal or unknown left out)."""
    usable = [
        v
        for v in votes
        if v.winner in ("a", "b")
        and v.length_a is not None
        and v.length_b is not None
        and v.length_a != v.length_b
    ]
    longer_won = sum((v.length_a > v.length_b) == (v.winner == "a") for v in usable)
    return _bias(longer_won, len(usable))


def _percentile(ordered: list[float], q: float) -> float:
    if not ordered:
        return float("nan")
    position = q * (len(ordered) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)
